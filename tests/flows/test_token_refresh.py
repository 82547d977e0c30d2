"""The refresh token grant, end to end over the real app (SEC-29..35, P4)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select
from token_support import (
    RESOURCE,
    add_client,
    add_user,
    basic,
    decode_jwt,
    issue_code,
    redeem,
    refresh,
    token_request,
)

from warden.clock import FrozenClock
from warden.storage.models import AuditRow, RefreshTokenRow
from warden.web.context import AppContext

SCOPE = "read:calendar write:email:draft-only-no-send"


@pytest.fixture
async def tokens(client: httpx.AsyncClient, ctx: AppContext) -> dict:
    await add_client(ctx)
    await add_user(ctx)
    code, stored = await issue_code(ctx, scope=SCOPE)
    response = await redeem(client, code)
    assert response.status_code == 200, response.text
    return {**response.json(), "grant_id": stored.grant_id}


def assert_error(response: httpx.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def introspect(client: httpx.AsyncClient, token: str) -> dict:
    response = await token_request(
        client, {"token": token}, headers=basic("agent_1"), path="/introspect"
    )
    return response.json()


async def live_tokens(ctx: AppContext, grant_id: str) -> int:
    async with ctx.db.unit_of_work() as stores:
        return int(
            await stores.session.scalar(
                select(func.count())
                .select_from(RefreshTokenRow)
                .where(RefreshTokenRow.grant_id == grant_id, RefreshTokenRow.consumed_at.is_(None))
            )
            or 0
        )


async def test_refresh_returns_new_tokens_with_the_same_identity(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["scope"] == SCOPE
    before = decode_jwt(tokens["access_token"])[1]
    after = decode_jwt(body["access_token"])[1]
    for claim in ("sub", "act", "actor_type", "auth_time", "aud", "grant_id", "client_id"):
        assert after[claim] == before[claim]
    assert after["jti"] != before["jti"]


async def test_sec_30_refresh_token_is_rotated(
    client: httpx.AsyncClient, tokens: dict, clock: FrozenClock
) -> None:
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200
    clock.advance(10)
    assert_error(await refresh(client, tokens["refresh_token"]), "invalid_grant")


async def test_sec_31_reuse_revokes_the_whole_family(
    client: httpx.AsyncClient, tokens: dict, clock: FrozenClock
) -> None:
    second = (await refresh(client, tokens["refresh_token"])).json()
    clock.advance(10)
    assert_error(await refresh(client, tokens["refresh_token"]), "invalid_grant")
    assert_error(await refresh(client, second["refresh_token"]), "invalid_grant")
    assert await introspect(client, second["access_token"]) == {"active": False}


async def test_sec_32_concurrent_refreshes_leave_one_live_token(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict
) -> None:
    responses = await asyncio.gather(*(refresh(client, tokens["refresh_token"]) for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [200] + [400] * 9
    assert await live_tokens(ctx, tokens["grant_id"]) == 1
    winner = next(r for r in responses if r.status_code == 200).json()
    assert (await refresh(client, winner["refresh_token"])).status_code == 200


async def test_sec_33_refresh_token_is_bound_to_its_client(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict
) -> None:
    await add_client(ctx, "agent_2")
    assert_error(
        await refresh(client, tokens["refresh_token"], client_id="agent_2"), "invalid_grant"
    )
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_sec_33_confidential_client_must_authenticate(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    response = await token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "agent_1",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_sec_34_refresh_never_widens_scope(client: httpx.AsyncClient, tokens: dict) -> None:
    assert_error(
        await refresh(client, tokens["refresh_token"], scope="write:email:send"), "invalid_scope"
    )
    assert_error(
        await refresh(client, tokens["refresh_token"], scope=f"{SCOPE} admin"), "invalid_scope"
    )


async def test_sec_34_narrowing_keeps_the_grant_scope_for_the_next_refresh(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    narrowed = await refresh(client, tokens["refresh_token"], scope="read:calendar:next-7-days")
    assert narrowed.status_code == 200, narrowed.text
    assert decode_jwt(narrowed.json()["access_token"])[1]["scope"] == "read:calendar:next-7-days"
    again = await refresh(client, narrowed.json()["refresh_token"])
    assert again.json()["scope"] == SCOPE


async def test_sec_34_refresh_never_widens_resource(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    assert_error(
        await refresh(client, tokens["refresh_token"], resource="https://other-rs.example/mcp"),
        "invalid_target",
    )
    same = await refresh(client, tokens["refresh_token"], resource=RESOURCE)
    assert decode_jwt(same.json()["access_token"])[1]["aud"] == RESOURCE


async def test_sec_35_idle_refresh_token_expires(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict, clock: FrozenClock
) -> None:
    clock.advance(ctx.settings.tokens.refresh_token_idle_seconds + 1)
    assert_error(await refresh(client, tokens["refresh_token"]), "invalid_grant")


async def test_sec_35_family_ends_at_its_absolute_lifetime(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict, clock: FrozenClock
) -> None:
    current = tokens["refresh_token"]
    days = ctx.settings.tokens.refresh_token_ttl_seconds // 86400
    for _ in range(days - 1):
        clock.advance(86400)
        response = await refresh(client, current)
        assert response.status_code == 200, response.text
        current = response.json()["refresh_token"]
    clock.advance(86400)
    assert_error(await refresh(client, current), "invalid_grant")


async def test_sec_35_revoked_grant_refuses_refresh(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict, clock: FrozenClock
) -> None:
    async with ctx.db.unit_of_work() as stores:
        await stores.grants.revoke(tokens["grant_id"], clock.now())
    assert_error(await refresh(client, tokens["refresh_token"]), "invalid_grant")


async def test_sec_29_client_without_refresh_grant_gets_no_refresh_token(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, grant_types=("authorization_code",))
    await add_user(ctx)
    code, _ = await issue_code(ctx)
    body = (await redeem(client, code)).json()
    assert "refresh_token" not in body
    assert_error(await refresh(client, "anything"), "unauthorized_client")


async def test_unknown_refresh_token_is_invalid_grant(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    assert_error(await refresh(client, "not-a-token"), "invalid_grant")


async def test_sec_108_refresh_tokens_are_stored_only_as_digests(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict
) -> None:
    rotated = (await refresh(client, tokens["refresh_token"])).json()["refresh_token"]
    async with ctx.db.unit_of_work() as stores:
        rows = (await stores.session.scalars(select(RefreshTokenRow))).all()
    stored = " ".join(f"{r.token_hash} {r.grant_id} {r.scope}" for r in rows)
    assert len(rows) == 2
    assert tokens["refresh_token"] not in stored and rotated not in stored


async def test_issuance_and_reuse_are_audited(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict, clock: FrozenClock
) -> None:
    await refresh(client, tokens["refresh_token"])
    clock.advance(10)
    await refresh(client, tokens["refresh_token"])
    async with ctx.db.unit_of_work() as stores:
        rows = (await stores.session.scalars(select(AuditRow).order_by(AuditRow.id))).all()
    events = [(r.event, r.actor_type, r.grant_id, r.data.get("grant_type")) for r in rows]
    grant_id = tokens["grant_id"]
    assert events == [
        ("token.issued", "agent", grant_id, "authorization_code"),
        ("token.issued", "agent", grant_id, "refresh_token"),
        ("grant.revoked", None, grant_id, None),
    ]
    assert rows[0].user_id == "usr_alice" and rows[0].client_id == "agent_1"
    assert rows[0].source == "203.0.113.7"
