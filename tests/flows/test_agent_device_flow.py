"""warden.agent with the Device Authorization Grant (RFC 8628) against the real Warden: the
agent has no browser; the person approves on the verification page from another address while
the agent polls. Then the same step-up as the browser flow: 403 ``insufficient_scope`` on
``/mcp/send``, a second device authorization for the union of scopes, success.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qs

import pytest
from agent_flow_support import CALENDAR, ISSUER, RESOURCE, SEND, World, WorldFactory, build_world

from warden.agent import (
    AgentProfile,
    ClientCredentials,
    DeviceAuthorization,
    DeviceCodeFlow,
    TokenError,
)
from warden.agent.device import DEVICE_CODE_GRANT
from warden.clock import FrozenClock
from warden.oauth.model import Client

FAST_LOGIN = {"argon2_memory_kib": 1024, "argon2_time_cost": 1}


@pytest.fixture
async def make_world(make_app: Any, clock: FrozenClock) -> AsyncIterator[WorldFactory]:
    async with AsyncExitStack() as stack:
        yield functools.partial(build_world, stack, make_app, clock, login=FAST_LOGIN)


class Device:
    """The agent's side of the screen: shows the code, and waits by moving the clock.

    The person approves during the second wait after each code is shown, so the first poll
    meets ``authorization_pending`` (RFC 8628 §3.5).
    """

    def __init__(self, world: World, *, approve: bool = True) -> None:
        self.world = world
        self.approve = approve
        self.shown: list[DeviceAuthorization] = []
        self.waits: list[float] = []
        self.waiting = 0

    async def show(self, authorization: DeviceAuthorization) -> None:
        self.shown.append(authorization)
        self.waiting = 0

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.waiting += 1
        self.world.clock.advance(seconds)
        if self.waiting == 2 and self.approve:
            await self.world.person.confirm_device(self.shown[-1])

    def flow(self) -> DeviceCodeFlow:
        return DeviceCodeFlow(self.show, sleep=self.sleep)


async def add_cli_agent(world: World) -> ClientCredentials:
    """An operator-registered public agent for the device grant (Warden's default policy)."""
    async with world.ctx.db.unit_of_work() as stores:
        await stores.clients.add(
            Client(
                client_id="cli_agent",
                origin="static",
                kind="agent",
                token_endpoint_auth_method="none",
                redirect_uris=(),
                grant_types=(DEVICE_CODE_GRANT, "refresh_token"),
                response_types=(),
                scope=f"{CALENDAR} {SEND}",
                metadata={"client_name": "Calendar CLI"},
                created_at=world.clock.now(),
            )
        )
    return ClientCredentials("cli_agent", grant_types=(DEVICE_CODE_GRANT, "refresh_token"))


def forms(world: World, path: str) -> list[dict[str, str]]:
    """The form of every request the agent sent to ``path``."""
    return [
        {k: v[0] for k, v in parse_qs(r.content.decode()).items()}
        for r in world.router.seen
        if r.url.path == path
    ]


def polls(world: World) -> list[str]:
    return [form["grant_type"] for form in forms(world, "/token")]


async def test_device_flow_then_step_up(make_world: WorldFactory) -> None:
    world = await make_world()
    mine = await add_cli_agent(world)
    device = Device(world)
    auth = world.agent(device.flow(), profile=AgentProfile(preregistered={ISSUER: mine}))

    first = await world.call(auth)

    assert first.status_code == 200, first.text
    assert first.json()["scopes"] == [CALENDAR]
    (shown,) = device.shown
    assert shown.verification_uri == f"{ISSUER}/device"
    assert device.waits == [5, 5]
    assert polls(world) == [DEVICE_CODE_GRANT, DEVICE_CODE_GRANT]
    (started,) = forms(world, "/device_authorization")
    assert started == {"client_id": "cli_agent", "scope": CALENDAR, "resource": RESOURCE}
    assert world.person.pages[-1] == "/device"  # the confirmation, after signing in

    sent = await world.call(auth, "/mcp/send")

    assert sent.status_code == 200, sent.text
    assert sent.json() == {"sent": True, "scopes": [CALENDAR, SEND]}
    assert len(device.shown) == 2
    assert forms(world, "/device_authorization")[-1]["scope"] == f"{CALENDAR} {SEND}"
    assert "POST /register" not in world.sent()


async def test_refused_device_ends_with_access_denied(make_world: WorldFactory) -> None:
    world = await make_world()
    mine = await add_cli_agent(world)
    device = Device(world, approve=False)

    async def deny(seconds: float) -> None:
        await device.sleep(seconds)
        if device.waiting == 2:
            await deny_device(world, device.shown[-1])

    flow = DeviceCodeFlow(device.show, sleep=deny)
    auth = world.agent(flow, profile=AgentProfile(preregistered={ISSUER: mine}))

    with pytest.raises(TokenError) as refused:
        await world.call(auth)
    assert refused.value.error == "access_denied"


async def deny_device(world: World, authorization: DeviceAuthorization) -> None:
    """Sign in from ``verification_uri_complete`` and press Deny."""
    person = world.person
    assert authorization.verification_uri_complete is not None
    page = await person.browser.get(authorization.verification_uri_complete)
    while 'name="decision"' not in page.text:
        page = await person.submit(page, {})
        if page.is_redirect:
            page = await person.browser.get(page.headers["location"])
    done = await person.submit(page, {"decision": "deny"})
    assert done.status_code == 200, done.text


async def test_self_registered_device_agent_when_the_operator_allows_it(
    make_world: WorldFactory,
) -> None:
    world = await make_world(device={"allow_self_registered_clients": True})
    device = Device(world)
    auth = world.agent(device.flow(), profile=AgentProfile(client_name="Calendar CLI"))

    response = await world.call(auth)

    assert response.status_code == 200, response.text
    (registered,) = [r for r in world.router.seen if r.url.path == "/register"]
    body = json.loads(registered.content)
    assert body["grant_types"] == [DEVICE_CODE_GRANT, "refresh_token"]
    assert "redirect_uris" not in body and body["response_types"] == []
