"""Shared set-up for the token-endpoint flows: clients, users and codes stored directly.

Codes are inserted as the authorization endpoint would store them, so these flows test the
token endpoint alone; ``test_token_authorization_code.py`` also walks the real browser flow.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import httpx

from warden.oauth.model import AuthorizationCode, Client, User
from warden.oauth.pkce import s256_challenge
from warden.oauth.secrets import new_token
from warden.web.context import AppContext

__all__ = [
    "REDIRECT_URI",
    "RESOURCE",
    "SECRET",
    "USER_ID",
    "VERIFIER",
    "add_client",
    "add_user",
    "basic",
    "decode_jwt",
    "issue_code",
    "redeem",
    "refresh",
    "token_request",
]

SECRET = "s3cret-" + "x" * 40
VERIFIER = "v" * 43 + "-._~0123456789"
REDIRECT_URI = "https://app.example/cb"
RESOURCE = "https://rs.example/mcp"
USER_ID = "usr_alice"


def basic(client_id: str, secret: str = SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def add_client(
    ctx: AppContext,
    client_id: str = "agent_1",
    *,
    method: str = "client_secret_basic",
    kind: str = "agent",
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
    scope: str | None = "read:calendar write:email:draft-only-no-send",
    secret: str = SECRET,
    **overrides: Any,
) -> Client:
    client = Client(
        client_id=client_id,
        origin="static",
        kind=kind,  # type: ignore[arg-type]
        token_endpoint_auth_method=method,
        redirect_uris=(REDIRECT_URI,),
        grant_types=grant_types,
        scope=scope,
        secret_hash=(ctx.hasher.digest(secret) if method.startswith("client_secret") else None),
        created_at=ctx.clock.now(),
    )
    client = replace(client, **overrides)
    async with ctx.db.unit_of_work() as stores:
        await stores.clients.add(client)
    return client


async def add_user(ctx: AppContext, user_id: str = USER_ID) -> User:
    user = User(user_id=user_id, username=user_id.removeprefix("usr_"), password_hash="-")
    async with ctx.db.unit_of_work() as stores:
        await stores.users.add(user)
    return user


async def issue_code(
    ctx: AppContext,
    client_id: str = "agent_1",
    *,
    user_id: str = USER_ID,
    scope: str = "read:calendar",
    resources: tuple[str, ...] = (RESOURCE,),
    verifier: str | None = VERIFIER,
    redirect_uri: str = REDIRECT_URI,
    ttl: float = 60,
) -> tuple[str, AuthorizationCode]:
    """Store a code as the authorization endpoint does; return the raw value and the row."""
    value = new_token(32)
    now = ctx.clock.now()
    code = AuthorizationCode(
        code_hash=ctx.hasher.digest(value),
        client_id=client_id,
        user_id=user_id,
        grant_id="grt_" + new_token(12),
        redirect_uri=redirect_uri,
        code_challenge=s256_challenge(verifier) if verifier else None,
        code_challenge_method="S256" if verifier else None,
        scope=scope,
        resources=resources,
        auth_time=now - 5,
        expires_at=now + ttl,
    )
    async with ctx.db.unit_of_work() as stores:
        await stores.codes.add(code)
    return value, code


async def token_request(
    client: httpx.AsyncClient,
    data: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    path: str = "/token",
) -> httpx.Response:
    return await client.post(path, data=data, headers=headers or {})


async def redeem(
    client: httpx.AsyncClient,
    code: str,
    *,
    client_id: str = "agent_1",
    verifier: str = VERIFIER,
    **extra: Any,
) -> httpx.Response:
    """Redeem ``code`` as a ``client_secret_basic`` client."""
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier, **extra}
    return await token_request(client, data, headers=basic(client_id))


async def refresh(
    client: httpx.AsyncClient, refresh_token: str, *, client_id: str = "agent_1", **extra: Any
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return await token_request(client, data, headers=basic(client_id))


def _b64json(segment: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return value


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT, unverified (the tests check the claims themselves)."""
    header, payload, _ = token.split(".")
    return _b64json(header), _b64json(payload)
