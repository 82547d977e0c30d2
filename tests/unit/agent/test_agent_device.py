"""The device authorization grant: the request, what is shown, and polling (RFC 8628 §3.1-3.5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agent_support import ISSUER, RESOURCE, form_of, json_response

from warden.agent.device import DEVICE_CODE_GRANT, DeviceAuthorization, DeviceCodeFlow
from warden.agent.discovery import ServerMetadata
from warden.agent.errors import DiscoveryError, TokenError
from warden.agent.flow import FlowContext
from warden.agent.registration import ClientCredentials
from warden.agent.tokens import TokenSet
from warden.clock import FrozenClock

SERVER = ServerMetadata(
    issuer=ISSUER,
    token_endpoint=f"{ISSUER}/token",
    device_authorization_endpoint=f"{ISSUER}/device_authorization",
)
DEVICE_RESPONSE = {
    "device_code": "dc-1",
    "user_code": "WDJB-MJHT",
    "verification_uri": f"{ISSUER}/device",
    "verification_uri_complete": f"{ISSUER}/device?user_code=WDJB-MJHT",
    "expires_in": 600,
    "interval": 5,
}
SUCCESS = {"access_token": "at", "token_type": "Bearer", "expires_in": 60}


class Device:
    """The AS's two endpoints; ``answers`` are the successive token endpoint replies."""

    def __init__(self, answers: list[dict[str, Any]], device: dict[str, Any] | None = None):
        self.clock = FrozenClock()
        self.answers = answers
        self.device = DEVICE_RESPONSE if device is None else device
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.shown: list[DeviceAuthorization] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/device_authorization":
            return json_response(200, self.device)
        answer = self.answers.pop(0)
        return json_response(200 if "access_token" in answer else 400, answer)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    async def show(self, authorization: DeviceAuthorization) -> None:
        self.shown.append(authorization)

    async def run(self, server: ServerMetadata = SERVER) -> TokenSet:
        flow = DeviceCodeFlow(self.show, sleep=self.sleep)
        async with httpx.AsyncClient(transport=httpx.MockTransport(self.handle)) as http:
            ctx = FlowContext(
                http, server, ClientCredentials("agent_1"), RESOURCE, "read", self.clock
            )
            return await flow.authorize(ctx)


def pending(error: str = "authorization_pending") -> dict[str, Any]:
    return {"error": error}


async def test_device_authorization_request_and_polls() -> None:
    device = Device([pending(), pending(), SUCCESS])
    tokens = await device.run()
    assert tokens.access_token == "at" and tokens.scope == "read"
    assert form_of(device.requests[0]) == {
        "client_id": "agent_1",
        "scope": "read",
        "resource": RESOURCE,
    }
    assert form_of(device.requests[1]) == {
        "grant_type": DEVICE_CODE_GRANT,
        "device_code": "dc-1",
        "resource": RESOURCE,
        "client_id": "agent_1",
    }
    assert device.sleeps == [5, 5, 5]
    (shown,) = device.shown
    assert shown.user_code == "WDJB-MJHT"
    assert shown.verification_uri_complete == f"{ISSUER}/device?user_code=WDJB-MJHT"
    assert "dc-1" not in repr(shown)


async def test_slow_down_adds_five_seconds_for_good() -> None:
    device = Device([pending("slow_down"), pending(), pending("slow_down"), SUCCESS])
    await device.run()
    assert device.sleeps == [5, 10, 10, 15]


async def test_default_interval_is_five_seconds() -> None:
    body = {k: v for k, v in DEVICE_RESPONSE.items() if k != "interval"}
    device = Device([SUCCESS], body)
    await device.run()
    assert device.sleeps == [5]


@pytest.mark.parametrize("error", ["access_denied", "expired_token", "invalid_grant"])
async def test_terminal_errors_end_the_flow(error: str) -> None:
    device = Device([pending(), pending(error)])
    with pytest.raises(TokenError) as ended:
        await device.run()
    assert ended.value.error == error


async def test_polling_stops_when_the_device_code_expires() -> None:
    device = Device([pending()] * 200, {**DEVICE_RESPONSE, "expires_in": 60, "interval": 7})
    with pytest.raises(TokenError) as ended:
        await device.run()
    assert ended.value.error == "expired_token"
    assert device.clock.now() - 1_800_000_000.0 == 63
    assert len(device.requests) == 1 + 8  # polls at 7, 14, ..., 56 seconds


@pytest.mark.parametrize(
    "change",
    [
        {"device_code": None},
        {"user_code": ""},
        {"verification_uri": "http://as.test/device"},
        {"expires_in": "600"},
        {"interval": 0},
    ],
)
async def test_unusable_device_authorization_response(change: dict[str, Any]) -> None:
    body = {k: v for k, v in {**DEVICE_RESPONSE, **change}.items() if v is not None}
    with pytest.raises(TokenError):
        await Device([], body).run()


async def test_refused_device_authorization() -> None:
    device = Device([], {"error": "invalid_scope"})

    def refuse(request: httpx.Request) -> httpx.Response:
        return json_response(400, {"error": "invalid_scope"})

    device.handle = refuse  # type: ignore[method-assign]
    with pytest.raises(TokenError) as refused:
        await device.run()
    assert refused.value.error == "invalid_scope"


async def test_server_without_device_endpoint() -> None:
    server = ServerMetadata(issuer=ISSUER, token_endpoint=f"{ISSUER}/token")
    with pytest.raises(DiscoveryError, match="device_authorization_endpoint"):
        await Device([]).run(server)
