"""A self-registered client's ``scope`` is not a ceiling; the self-registration policy is.

MCP clients register (RFC 7591) with the scope of their first challenge and later step up
beyond it on a 403 ``insufficient_scope`` (the official Python SDK does exactly this,
mcp-auth.md §3). The client chose that scope itself and could register again with more, so
capping it there would protect nothing and break step-up; the catalogue's rules for
self-registered clients stay the ceiling (SEC-16, SEC-46). An administrator's ``scope`` for
a pre-registered client still is one (tests/flows/test_authorize.py).
"""

from __future__ import annotations

import httpx
from helpers import REDIRECT_URI, add_user, authorize_code, query_of
from tests.conftest import ISSUER

from warden.web.context import AppContext

RESOURCE = "https://mcp.example/mcp"


async def _register(client: httpx.AsyncClient, scope: str) -> str:
    response = await client.post(
        "/register",
        json={
            "client_name": "Python SDK agent",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
            "scope": scope,
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["scope"] == scope
    client_id: str = response.json()["client_id"]
    return client_id


async def test_dynamic_client_steps_up_beyond_the_scope_it_registered(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_user(ctx)
    client_id = await _register(client, "read:calendar:next-7-days")
    wider = "read:calendar:next-7-days write:email:send"

    code, _ = await authorize_code(client, client_id=client_id, scope=wider, resource=RESOURCE)

    assert code


async def test_sec_46_step_up_stays_within_the_self_registration_policy(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_user(ctx)
    client_id = await _register(client, "read:calendar:next-7-days")
    await authorize_code(client, client_id=client_id, scope="read:calendar:next-7-days")

    response = await client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "state": "s-1",
            "scope": "read:calendar:next-7-days admin",
        },
    )

    assert response.status_code in (302, 303)
    query = query_of(response.headers["location"])
    assert (query["error"], query["iss"]) == ("invalid_scope", ISSUER)
