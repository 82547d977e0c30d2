"""warden.agent against the real Warden: a 401 from a protected resource, discovery, dynamic
registration or a Client ID Metadata Document, authorization code + PKCE with a person who
approves, the call; then step-up on 403, refresh before expiry and re-authorization when the
grant is gone (mcp-auth C1..C11, P8).

The resource at https://mcp.test is built with ``warden.resource`` and verifies Warden's JWTs
against its JWKS; one transport routes both hosts, and records what the agent sends.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from agent_flow_support import (
    CALENDAR,
    ISSUER,
    REDIRECT_URI,
    RESOURCE,
    SEND,
    DocumentHost,
    LoopbackResolver,
    World,
    WorldFactory,
    build_world,
)

from warden.agent import AgentProfile, MemoryTokenStorage
from warden.clock import FrozenClock
from warden.oauth.clients import ClientDirectory


@pytest.fixture
async def make_world(make_app: Any, clock: FrozenClock) -> AsyncIterator[WorldFactory]:
    async with AsyncExitStack() as stack:
        yield functools.partial(build_world, stack, make_app, clock)


@pytest.fixture
async def world(make_world: WorldFactory) -> World:
    return await make_world()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_401_discovery_registration_consent_then_the_call(world: World) -> None:
    response = await world.call(world.agent())

    assert response.status_code == 200, response.text
    assert response.json() == {"user": await user_id(world), "scopes": [CALENDAR]}
    assert world.sent("mcp.test") == [
        "POST /mcp",
        "GET /.well-known/oauth-protected-resource/mcp",
        "POST /mcp",
    ]
    assert world.sent() == [
        "GET /.well-known/oauth-authorization-server",
        "POST /register",
        "POST /token",
    ]
    (asked,) = world.person.asked
    assert query(asked)["resource"] == RESOURCE
    assert query(asked)["scope"] == CALENDAR  # the 401 challenge's scope (C6)
    assert world.person.pages == ["/authorize", "/consent"]  # sign-in, then consent
    async with world.ctx.db.unit_of_work() as stores:
        client = await stores.clients.get(query(asked)["client_id"])
    assert client is not None
    assert (client.origin, client.kind, client.application_type) == ("dynamic", "agent", "native")
    assert client.token_endpoint_auth_method == "none"
    assert client.redirect_uris == (REDIRECT_URI,)


async def user_id(world: World) -> str:
    async with world.ctx.db.unit_of_work() as stores:
        user = await stores.users.get_by_username("alice")
    assert user is not None
    return user.user_id


async def test_c10_later_calls_carry_the_bearer_token_in_the_header(world: World) -> None:
    auth = world.agent()
    await world.call(auth)
    before = len(world.router.seen)
    assert (await world.call(auth)).status_code == 200
    (again,) = world.router.seen[before:]
    assert again.headers["authorization"].startswith("Bearer ey")
    assert "access_token" not in str(again.url)


async def test_c7_step_up_on_403_asks_for_the_union_and_retries(world: World) -> None:
    auth = world.agent()
    await world.call(auth)

    response = await world.call(auth, "/mcp/send")

    assert response.status_code == 200, response.text
    assert response.json() == {"sent": True, "scopes": [CALENDAR, SEND]}
    assert [query(url)["scope"] for url in world.person.asked] == [
        CALENDAR,
        f"{CALENDAR} {SEND}",
    ]
    assert world.sent("mcp.test")[-2:] == ["POST /mcp/send", "POST /mcp/send"]
    assert (await world.call(auth)).status_code == 200  # the first permission is kept


async def test_tokens_are_refreshed_before_they_expire(world: World) -> None:
    storage = MemoryTokenStorage()
    auth = world.agent(storage=storage)
    await world.call(auth)
    first = await storage.get_tokens(ISSUER, RESOURCE)
    assert first is not None and first.refresh_token is not None
    world.clock.advance(world.ctx.settings.tokens.access_token_ttl_seconds - 10)
    before = len(world.router.seen)

    assert (await world.call(auth)).status_code == 200

    assert [f"{r.method} {r.url.path}" for r in world.router.seen[before:]] == [
        "POST /token",
        "POST /mcp",
    ]
    refresh = world.form(before)
    assert refresh["grant_type"] == "refresh_token"
    assert refresh["resource"] == RESOURCE  # C5: on refresh too
    rotated = await storage.get_tokens(ISSUER, RESOURCE)
    assert rotated is not None and rotated.refresh_token not in (None, first.refresh_token)
    assert len(world.person.asked) == 1


async def test_p8_revoked_grant_means_authorizing_again(world: World) -> None:
    storage = MemoryTokenStorage()
    auth = world.agent(storage=storage)
    await world.call(auth)
    tokens = await storage.get_tokens(ISSUER, RESOURCE)
    assert tokens is not None and tokens.refresh_token is not None
    revoked = await world.http.post(
        f"{ISSUER}/revoke", data={"token": tokens.refresh_token, "client_id": tokens.client_id}
    )
    assert revoked.status_code == 200, revoked.text
    world.clock.advance(world.ctx.settings.tokens.access_token_ttl_seconds + 1)

    assert (await world.call(auth)).status_code == 200

    assert len(world.person.asked) == 2
    assert world.sent().count("POST /register") == 1


async def test_cimd_client_id_instead_of_registration(make_world: WorldFactory) -> None:
    host = DocumentHost()
    listener = await asyncio.start_server(host.handle, "127.0.0.1", 0)
    host.port = listener.sockets[0].getsockname()[1]
    try:
        world = await make_world(cimd={"allow_loopback": True})
        await world.ctx.clients.aclose()
        world.ctx.clients = ClientDirectory.from_settings(
            world.ctx.settings,
            scopes=world.ctx.scopes,
            limiter=world.ctx.limiter,
            clock=world.ctx.clock,
            resolver=LoopbackResolver(),
        )
        url = host.url("/agent.json")
        host.documents["/agent.json"] = {
            "client_id": url,
            "client_name": "Calendar agent",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        auth = world.agent(profile=AgentProfile(client_id_metadata_document=url))

        response = await world.call(auth)

        assert response.status_code == 200, response.text
        assert "POST /register" not in world.sent()
        assert query(world.person.asked[0])["client_id"] == url
        assert world.form(-2)["client_id"] == url  # the code exchange
        assert host.hits == ["/agent.json"]
    finally:
        listener.close()
        await listener.wait_closed()
