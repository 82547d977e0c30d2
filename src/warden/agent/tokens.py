"""Token endpoint requests and responses (RFC 6749 §3.2, §5; OAuth 2.1 §3.2).

Every request names the protected resource (RFC 8707 §2; MCP client rule C5: on the code
exchange, the refresh and every other grant alike). A public client identifies itself with
``client_id``; a confidential one authenticates with HTTP Basic (RFC 6749 §2.3.1, with the
id and secret form-encoded first) or in the body.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import httpx

from warden.agent import _http
from warden.agent.errors import TokenError
from warden.agent.registration import ClientCredentials

__all__ = ["TokenSet", "client_authentication", "post_as_client", "refresh", "request_token"]


@dataclass(frozen=True, slots=True)
class TokenSet:
    """An access token and what came with it (RFC 6749 §5.1)."""

    access_token: str
    client_id: str
    expires_at: float | None = None
    """When the access token expires (from ``expires_in``); None if the server did not say."""
    refresh_token: str | None = None
    scope: str | None = None
    """The granted scope, or the requested one when the server did not echo it (§5.1)."""

    def expires_within(self, now: float, seconds: float) -> bool:
        return self.expires_at is not None and self.expires_at - seconds <= now

    def scopes(self) -> frozenset[str]:
        return frozenset((self.scope or "").split())

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "client_id": self.client_id,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        return cls(
            access_token=data["access_token"],
            client_id=data["client_id"],
            expires_at=data.get("expires_at"),
            refresh_token=data.get("refresh_token"),
            scope=data.get("scope"),
        )


def client_authentication(client: ClientCredentials, form: dict[str, str]) -> dict[str, str]:
    """Add the client's identity to ``form``; return the headers to send (RFC 6749 §2.3.1)."""
    secret = client.client_secret
    if client.token_endpoint_auth_method == "client_secret_basic" and secret is not None:
        pair = f"{quote(client.client_id, safe='')}:{quote(secret, safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}
    form["client_id"] = client.client_id
    if client.token_endpoint_auth_method == "client_secret_post" and secret is not None:
        form["client_secret"] = secret
    return {}


async def request_token(
    http: httpx.AsyncClient,
    token_endpoint: str,
    client: ClientCredentials,
    form: Mapping[str, str],
    *,
    now: float,
    requested_scope: str | None = None,
) -> TokenSet:
    """POST a token request and read the response.

    :raises TokenError: an error response (RFC 6749 §5.2), or a success the agent cannot use.
    """
    refused = f"The token endpoint refused the {form.get('grant_type')} request"
    body = await post_as_client(http, token_endpoint, client, form, refused=refused)
    return _token_set(body, client, now=now, requested_scope=requested_scope)


async def post_as_client(
    http: httpx.AsyncClient,
    endpoint: str,
    client: ClientCredentials,
    form: Mapping[str, str],
    *,
    refused: str,
) -> Mapping[str, Any]:
    """POST ``form`` with the client's authentication; the JSON object of a 200 answer.

    :raises TokenError: ``refused``, with the RFC 6749 §5.2 error of any other answer.
    """
    body = dict(form)
    headers = client_authentication(client, body)
    reply = await _http.post_form(http, endpoint, body, headers)
    if reply.status_code != 200 or reply.body is None:
        error, description = reply.error()
        raise TokenError(
            refused, error=error, description=description, status_code=reply.status_code
        )
    return reply.body


async def refresh(
    http: httpx.AsyncClient,
    token_endpoint: str,
    client: ClientCredentials,
    tokens: TokenSet,
    *,
    resource: str,
    now: float,
) -> TokenSet:
    """Use the refresh token (RFC 6749 §6) for the same scope.

    A server that rotates refresh tokens (OAuth 2.1 §4.3.1) returns a new one, which replaces
    the old; one that does not leaves the old in force. An absent ``scope`` means unchanged.
    """
    assert tokens.refresh_token is not None
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens.refresh_token,
        "resource": resource,
    }
    fresh = await request_token(
        http, token_endpoint, client, form, now=now, requested_scope=tokens.scope
    )
    return replace(fresh, refresh_token=fresh.refresh_token or tokens.refresh_token)


def _token_set(
    body: Mapping[str, Any], client: ClientCredentials, *, now: float, requested_scope: str | None
) -> TokenSet:
    token, token_type = body.get("access_token"), body.get("token_type")
    if not isinstance(token, str) or not token:
        raise TokenError("The token response has no access_token")
    # RFC 6749 §7.1: the agent presents Bearer tokens only (RFC 6750); case-insensitive.
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(f"The token type {token_type!r} is not Bearer")
    expires_in, refresh_token, scope = (
        body.get("expires_in"),
        body.get("refresh_token"),
        body.get("scope"),
    )
    lifetime: float | None = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        lifetime = expires_in
    return TokenSet(
        access_token=token,
        client_id=client.client_id,
        expires_at=now + lifetime if lifetime is not None else None,
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        scope=scope if isinstance(scope, str) else requested_scope,
    )
