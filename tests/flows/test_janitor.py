"""The janitor over the real app: what it deletes, what it keeps, and why codes stay longer.

SEC-19: a used code replayed after its expiry, but within ``janitor.code_retention_seconds``,
must still be found, so that the replay revokes the grant it produced.
"""

from __future__ import annotations

import httpx
import pytest
from token_support import add_client, add_user, issue_code, redeem, refresh

from warden.clock import FrozenClock
from warden.oauth.model import Grant, RefreshToken, Session
from warden.web.context import AppContext
from warden.web.housekeeping import purge_once

HOUR = 3600.0


@pytest.fixture
async def agent(ctx: AppContext) -> None:
    await add_client(ctx)
    await add_user(ctx)


def _grant(grant_id: str, now: float, *, expires_in: float) -> Grant:
    return Grant(grant_id, "agent_1", None, "read", (), now - 10 * HOUR, now + expires_in)


async def test_expired_rows_go_and_live_rows_stay(ctx: AppContext, clock: FrozenClock) -> None:
    now = clock.now()
    async with ctx.db.unit_of_work() as stores:
        await stores.sessions.add(Session("a" * 64, "usr_1", now, now - 2 * HOUR))
        await stores.sessions.add(Session("b" * 64, "usr_1", now, now + HOUR))
        await stores.denylist.add("old", now - 2 * HOUR)
        await stores.denylist.add("recent", now - 60)  # within retention_seconds
        await stores.grants.add(_grant("g_old", now, expires_in=-2 * HOUR))
        await stores.grants.add(_grant("g_live", now, expires_in=HOUR))
        await stores.refresh_tokens.add(
            RefreshToken("r_old", "g_old", "agent_1", "read", (), now - 3 * HOUR, now + HOUR)
        )

    counts = await purge_once(ctx)

    assert counts == {
        "authorization_codes": 0,
        "refresh_tokens": 1,
        "grants": 1,
        "sessions": 1,
        "revoked_access_tokens": 1,
        "device_authorizations": 0,
    }
    async with ctx.db.unit_of_work() as stores:
        assert await stores.sessions.get("b" * 64) is not None
        assert await stores.denylist.contains("recent")
        assert await stores.grants.get("g_live") is not None
        assert await stores.grants.get("g_old") is None
    assert set((await purge_once(ctx)).values()) == {0}


@pytest.mark.usefixtures("agent")
async def test_sec_19_replay_within_code_retention_still_revokes_the_grant(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    code, _ = await issue_code(ctx)
    tokens = (await redeem(client, code)).json()

    # Past the code's expiry and the general retention, within the code retention.
    clock.advance(2 * HOUR)
    assert (await purge_once(ctx))["authorization_codes"] == 0
    rotated = (await refresh(client, tokens["refresh_token"])).json()

    replay = await redeem(client, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    refused = await refresh(client, rotated["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.usefixtures("agent")
async def test_codes_go_after_the_code_retention(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    code, row = await issue_code(ctx)
    clock.advance(ctx.settings.janitor.code_retention_seconds + 61)

    assert (await purge_once(ctx))["authorization_codes"] == 1
    async with ctx.db.unit_of_work() as stores:
        assert await stores.codes.get(row.code_hash) is None
    assert (await redeem(client, code)).json()["error"] == "invalid_grant"
