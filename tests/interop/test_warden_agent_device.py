"""Interop: ``warden.agent`` with the device grant (RFC 8628), through Warden, to the demo MCP
server, all real servers on loopback (demo_servers.py).

The agent has no browser: ``AgentAuth`` with ``DeviceCodeFlow`` meets the 401, discovers
Warden, starts a device authorization for the resource's scopes and polls while the person
approves on the verification page (``HeadlessPerson.approve_device``). The MCP traffic is
plain JSON-RPC over the agent's ``httpx`` client (the official SDK client speaks httpx2 and
cannot carry an ``httpx.Auth``). Then the same walk as the SDK test: list tools →
``calendar_next_events`` → ``email_send`` answers 403 ``insufficient_scope`` → a second
device authorization for the union of scopes → ``email_send`` succeeds.

The agent is pre-registered by the operator, as Warden's default device policy requires
(self-registered clients may not start the device flow, SEC-92); polls are one second apart
(``device.interval_seconds``), so the test takes a few seconds of real time.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from tests.interop.demo_servers import PASSWORD, USERNAME, DemoServers

from warden.agent import (
    AgentAuth,
    AgentProfile,
    ClientCredentials,
    DeviceAuthorization,
    DeviceCodeFlow,
)
from warden.agent.device import DEVICE_CODE_GRANT
from warden.demo.mcp_server import CALENDAR_SCOPE, DRAFT_SCOPE, SEND_SCOPE
from warden.demo.narration import decode_jwt
from warden.demo.person import HeadlessPerson
from warden.oauth.model import Client
from warden.resource import parse_bearer_challenge

pytestmark = pytest.mark.interop

TIMEOUT_SECONDS = 60
CLIENT_ID = "calendar-cli"
PROTOCOL = "2025-11-25"


def _cli_agent() -> Client:
    return Client(
        client_id=CLIENT_ID,
        origin="static",
        kind="agent",
        token_endpoint_auth_method="none",
        redirect_uris=(),
        grant_types=(DEVICE_CODE_GRANT, "refresh_token"),
        response_types=(),
        scope=f"{CALENDAR_SCOPE} {DRAFT_SCOPE} {SEND_SCOPE}",
        metadata={"client_name": "Calendar CLI"},
    )


class McpSession:
    """Just enough MCP over streamable HTTP (the 2025-11-25 handshake) on an httpx client."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http = http
        self.url = url
        self.headers = {
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": PROTOCOL,
        }
        self._id = 0

    async def open(self) -> None:
        info = {"name": "warden-agent-interop", "version": "1"}
        params = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": info}
        response = await self._post({"method": "initialize", "params": params})
        self.headers["mcp-session-id"] = response.headers["mcp-session-id"]
        await self._post({"method": "notifications/initialized"}, notification=True)

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        response = await self._post({"method": method, "params": params})
        data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
        message = json.loads(data[-1] if data else response.text)
        assert "result" in message, message
        result: dict[str, Any] = message["result"]
        return result

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.request("tools/call", {"name": name, "arguments": arguments})
        assert not result.get("isError"), result
        structured: dict[str, Any] = result["structuredContent"]
        return structured

    async def _post(self, message: dict[str, Any], *, notification: bool = False) -> httpx.Response:
        if not notification:
            self._id += 1
            message = {**message, "id": self._id}
        response = await self.http.post(
            self.url, json={"jsonrpc": "2.0", **message}, headers=self.headers
        )
        assert response.status_code == (202 if notification else 200), response.text
        return response


async def test_device_grant_tools_and_step_up(demo_servers: DemoServers) -> None:
    running = await demo_servers.start(clients=[_cli_agent()], device={"interval_seconds": 1})
    person = HeadlessPerson(USERNAME, PASSWORD, redirect_uri="http://127.0.0.1/unused")
    shown: list[DeviceAuthorization] = []

    async def show_user_code(authorization: DeviceAuthorization) -> None:
        shown.append(authorization)
        assert authorization.verification_uri_complete is not None
        await person.approve_device(authorization.verification_uri_complete)

    wire: list[httpx.Request] = []
    challenges: list[tuple[int, str]] = []

    async def record(response: httpx.Response) -> None:
        wire.append(response.request)
        if response.status_code in (401, 403):
            challenges.append((response.status_code, response.headers["www-authenticate"]))

    oauth_http = httpx.AsyncClient(event_hooks={"response": [record]}, timeout=20)
    credentials = ClientCredentials(CLIENT_ID, grant_types=(DEVICE_CODE_GRANT, "refresh_token"))
    auth = AgentAuth(
        DeviceCodeFlow(show_user_code),
        profile=AgentProfile(preregistered={running.issuer: credentials}),
        http=oauth_http,
    )
    try:
        async with (
            asyncio.timeout(TIMEOUT_SECONDS),
            httpx.AsyncClient(auth=auth, event_hooks={"response": [record]}, timeout=20) as http,
        ):
            session = McpSession(http, running.resource)
            await session.open()
            tools = await session.request("tools/list", {})
            calendar = await session.call_tool("calendar_next_events", {})
            arguments = {"to": "sam@example.com", "subject": "Hi", "body": "Lunch?"}
            sent = await session.call_tool("email_send", arguments)
            stored = await auth.storage.get_tokens(running.issuer, running.resource)
    finally:
        await oauth_http.aclose()
        await person.aclose()

    assert {tool["name"] for tool in tools["tools"]} == {
        "calendar_next_events",
        "email_draft",
        "email_send",
    }
    caller = {"user": running.user_id, "agent": CLIENT_ID, "actor_type": "agent"}
    assert calendar["caller"] == {**caller, "client_id": CLIENT_ID}
    assert sent["caller"] == {**caller, "client_id": CLIENT_ID}
    assert sent["status"] == "sent (demo)"

    # 401 → device authorization for the advertised scopes; 403 → one for the union.
    assert [status for status, _ in challenges] == [401, 403]
    assert parse_bearer_challenge(challenges[1][1])["scope"] == SEND_SCOPE
    assert len(shown) == 2
    started = [
        {k: v[0] for k, v in parse_qs(r.content.decode()).items()}
        for r in wire
        if r.url.path == "/device_authorization"
    ]
    assert [set(form["scope"].split()) for form in started] == [
        {CALENDAR_SCOPE, DRAFT_SCOPE},
        {CALENDAR_SCOPE, DRAFT_SCOPE, SEND_SCOPE},
    ]
    assert all(form["resource"] == running.resource for form in started)
    assert not [r for r in wire if r.url.path == "/register"]

    assert stored is not None
    claims = decode_jwt(stored.access_token)[1]
    assert claims["aud"] == running.resource
    assert claims["act"] == {"sub": CLIENT_ID}
    assert {CALENDAR_SCOPE, DRAFT_SCOPE, SEND_SCOPE} <= set(claims["scope"].split())
