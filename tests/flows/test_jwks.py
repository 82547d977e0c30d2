"""GET <issuer>/jwks.json over the real app, and issued tokens verifying against it."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, SecurityWarning
from joserfc.jwk import KeySet
from sqlalchemy import text
from starlette.applications import Starlette

from warden.clock import FrozenClock
from warden.errors import ConfigurationError
from warden.settings import Settings
from warden.tokens.encryption import KeyCipher
from warden.tokens.keys import KeyRing
from warden.web.app import create_app
from warden.web.context import AppContext, build_context, fernet_key
from warden.web.routes.jwks import keep_keys_fresh

AppFactory = Callable[..., Awaitable[tuple[Starlette, AppContext]]]

RESOURCE = "https://rs.example/mcp"


def issue(ctx: AppContext) -> str:
    return ctx.access_tokens.issue(
        sub="user-1",
        client_id="c1",
        audience=RESOURCE,
        scope="notes:read",
        ttl_seconds=600,
        grant_id="g1",
    ).token


def verify_with_jwks(token: str, jwks: dict[str, Any]) -> jwt.Token:
    """What a resource server does: pick the key by kid from the JWKS, pin the algorithm."""
    with warnings.catch_warnings():
        # joserfc flags the EdDSA name as deprecated by RFC 9864; Warden uses it on purpose.
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256", "EdDSA"])


async def test_jwks_is_served_with_short_public_caching_and_cors(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/jwk-set+json"
    [key] = response.json()["keys"]
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert key["kty"] == "EC"
    assert "d" not in key


async def test_issued_token_verifies_against_the_served_jwks(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    token = issue(ctx)
    jwks = (await client.get("/jwks.json")).json()
    verified = verify_with_jwks(token, jwks)
    assert verified.header["typ"] == "at+jwt"
    assert verified.claims["iss"] == "https://warden.test"
    assert verified.claims["aud"] == RESOURCE


async def test_sec_110_rotation_keeps_old_tokens_verifiable_until_retired(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    old_kid = ctx.keyring.signing_key().kid
    before = issue(ctx)
    async with ctx.db.unit_of_work() as stores:
        await ctx.keyring.rotate(stores.keys, "EdDSA")
    after = issue(ctx)
    jwks = (await client.get("/jwks.json")).json()
    assert [k["alg"] for k in jwks["keys"]] == ["EdDSA", "ES256"]
    verify_with_jwks(before, jwks)
    verify_with_jwks(after, jwks)

    async with ctx.db.unit_of_work() as stores:
        await ctx.keyring.retire(stores.keys, old_kid)
    jwks = (await client.get("/jwks.json")).json()
    assert [k["kid"] for k in jwks["keys"]] == [ctx.keyring.signing_key().kid]
    with pytest.raises(InvalidKeyIdError):
        verify_with_jwks(before, jwks)


async def test_another_master_secret_refuses_to_start(
    make_settings: Callable[..., Settings], ctx: AppContext, clock: FrozenClock
) -> None:
    # Same database, other secret: the stored private key cannot be decrypted. That is a
    # loud start-up failure, never a silently generated new key.
    other = build_context(make_settings(secret_key="another-secret-" + "y" * 40), clock=clock)
    app = create_app(context=other)
    with pytest.raises(ConfigurationError, match="WARDEN_SECRET_KEY"):
        async with app.router.lifespan_context(app):
            pass


async def test_sec_110_private_key_in_the_database_is_encrypted(ctx: AppContext) -> None:
    private_d = ctx.keyring.signing_key().key.as_dict(private=True)["d"]
    async with ctx.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM signing_keys"))).mappings().all()
    [row] = rows
    assert row["state"] == "active"
    dumped = json.dumps({k: str(v) for k, v in row.items()})
    assert private_d not in dumped
    assert private_d.encode() not in bytes(row["encrypted_private_jwk"])


async def test_jwks_under_an_issuer_path(make_app: AppFactory) -> None:
    app, _ = await make_app(issuer="https://warden.test/tenant-1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://warden.test") as client:
        assert (await client.get("/tenant-1/jwks.json")).status_code == 200
        assert (await client.get("/jwks.json")).status_code == 404


async def test_workers_pick_up_a_rotation_made_by_the_cli(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    # `warden keys rotate` in another process: its own ring over the same database.
    cli_ring = KeyRing(KeyCipher(fernet_key(ctx.master_secret, "signing-keys")), clock, "ES256")
    async with ctx.db.unit_of_work() as stores:
        new = await cli_ring.rotate(stores.keys)
    assert ctx.keyring.signing_key().kid != new.kid

    sleeps: list[float] = []

    async def one_tick(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 1:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await keep_keys_fresh(ctx, sleep=one_tick)
    assert sleeps == [ctx.settings.tokens.key_refresh_seconds] * 2
    assert ctx.keyring.signing_key().kid == new.kid
    jwks = (await client.get("/jwks.json")).json()
    assert jwks["keys"][0]["kid"] == new.kid
