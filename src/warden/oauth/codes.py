"""Issuing authorization codes (OAuth 2.1 §4.1.2).

A code is 256 bits from :func:`~warden.oauth.secrets.new_token`, stored only as a digest,
bound to the client, redirect URI, PKCE challenge, scopes and resources of the request, and
short-lived (``tokens.code_ttl_seconds``, 60 s by default; SEC-25). Its ``grant_id`` names the
grant the token endpoint creates when the code is redeemed.
"""

from __future__ import annotations

from dataclasses import dataclass

from warden.oauth.authorize import AuthorizationRequest
from warden.oauth.model import AuthorizationCode
from warden.oauth.ports import CodeStore
from warden.oauth.scopes import format_scope
from warden.oauth.secrets import SecretHasher, new_token

__all__ = ["IssuedCode", "issue_code"]


@dataclass(frozen=True, slots=True)
class IssuedCode:
    value: str
    grant_id: str


async def issue_code(
    store: CodeStore,
    request: AuthorizationRequest,
    *,
    user_id: str,
    auth_time: float,
    scopes: frozenset[str],
    hasher: SecretHasher,
    now: float,
    ttl_seconds: int,
) -> IssuedCode:
    """Store a new code for ``request`` and return its value, to be sent once."""
    value, grant_id = new_token(32), new_token(16)
    await store.add(
        AuthorizationCode(
            code_hash=hasher.digest(value),
            client_id=request.client_id,
            user_id=user_id,
            grant_id=grant_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            scope=format_scope(scopes),
            resources=request.resources,
            auth_time=auth_time,
            expires_at=now + ttl_seconds,
        )
    )
    return IssuedCode(value, grant_id)
