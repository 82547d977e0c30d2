"""Interop: authlib's OAuth 2 client drives Warden end to end.

Discovery (RFC 8414) → dynamic registration (RFC 7591) → authorization code + PKCE S256 with a
resource indicator (RFC 8707) and the RFC 9207 ``iss`` check → refresh (rotated) → revocation
(RFC 7009). authlib speaks httpx2; the person at the browser is played by the same walk the
official MCP clients are driven with (tests/flows/helpers.py).
"""

from __future__ import annotations

from typing import Any

import httpx
import httpx2
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from tests.conftest import ISSUER
from tests.flows.helpers import AuthorizationFailed, add_user, parse_form, query_of

from warden.web.context import AppContext

pytestmark = pytest.mark.interop

REDIRECT_URI = "http://127.0.0.1/callback"
RESOURCE = "https://mcp.example/mcp"


async def _browser_walk(browser: httpx.AsyncClient, url: str) -> str:
    """Follow the authorization URL as a person who logs in and approves; return Location."""
    response = await browser.get(url)
    for _ in range(6):
        if response.is_redirect:
            location = response.headers["location"]
            if location.startswith("http://127.0.0.1"):
                return location
            response = await browser.get(location)
            continue
        action, data = parse_form(response.text)
        if 'name="password"' in response.text:
            data.update(username="alice", password="correct horse battery staple")
        if 'name="decision"' in response.text:
            data["decision"] = "approve"
        response = await browser.post(action, data=data)
    raise AuthorizationFailed("never reached the redirect URI")


@pytest.fixture
async def oauth(app: Starlette, ctx: AppContext) -> Any:
    await add_user(ctx)
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=ISSUER) as raw:
        metadata = (await raw.get("/.well-known/oauth-authorization-server")).json()
        registration = await raw.post(
            metadata["registration_endpoint"],
            json={
                "client_name": "authlib interop",
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_basic",
                "application_type": "native",
            },
        )
        assert registration.status_code == 201, registration.text
        yield metadata, registration.json(), transport


async def test_discovery_registration_code_refresh_revoke(
    oauth: Any, client: httpx.AsyncClient
) -> None:
    metadata, registered, transport = oauth
    assert metadata["issuer"] == ISSUER
    session = AsyncOAuth2Client(
        client_id=registered["client_id"],
        client_secret=registered["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        transport=transport,
        base_url=ISSUER,
    )
    async with session:
        verifier = "q" * 64
        url, state = session.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, resource=RESOURCE
        )
        location = await _browser_walk(client, url)
        assert query_of(location)["iss"] == metadata["issuer"]  # RFC 9207 §2.4
        token = await session.fetch_token(
            metadata["token_endpoint"],
            authorization_response=location,
            code_verifier=verifier,
            state=state,
            resource=RESOURCE,
        )
        jwks = KeySet.import_key_set((await session.get(metadata["jwks_uri"])).json())
        claims = jwt.decode(token["access_token"], jwks).claims
        assert claims["aud"] == RESOURCE
        assert claims["client_id"] == registered["client_id"]

        first_refresh = token["refresh_token"]
        rotated = await session.refresh_token(metadata["token_endpoint"])
        assert rotated["refresh_token"] != first_refresh

        revoked = await session.revoke_token(
            metadata["revocation_endpoint"],
            token=rotated["refresh_token"],
            token_type_hint="refresh_token",
        )
        assert revoked.status_code == 200
        with pytest.raises(OAuthError) as refused:
            await session.refresh_token(
                metadata["token_endpoint"], refresh_token=rotated["refresh_token"]
            )
        assert refused.value.error == "invalid_grant"
