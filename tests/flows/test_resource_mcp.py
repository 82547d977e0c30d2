"""An official-SDK MCP server behind warden.resource: per-tool step-up on the wire.

The server is ``mcp.server.MCPServer`` over streamable HTTP, wrapped by ``protect_mcp``; the
client speaks JSON-RPC with httpx, so each status and challenge is visible.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.settings import AuthSettings
from tests.unit.resource.support import ISSUER, FakeAuthorizationServer

from warden.clock import FrozenClock
from warden.resource import (
    ProtectedResourceMetadata,
    TokenVerifier,
    current_principal,
    parse_bearer_challenge,
)
from warden.resource.mcp import McpTokenVerifier, protect_mcp

BASE = "http://127.0.0.1:8101"
RESOURCE = f"{BASE}/mcp"
PRM_URL = f"{BASE}/.well-known/oauth-protected-resource/mcp"
READ = "read:calendar:next-7-days"
SEND = "write:email:send"


def build_server() -> MCPServer:
    mcp = MCPServer("calendar")

    @mcp.tool()
    def calendar_next_events() -> str:
        principal = current_principal()
        sdk_token = get_access_token()
        assert principal is not None and sdk_token is not None
        assert sdk_token.subject == principal.subject and sdk_token.resource == RESOURCE
        return f"events of {principal.subject} for {principal.actor_type} {principal.client_id}"

    @mcp.tool()
    def email_send(to: str) -> str:
        return f"sent to {to}"

    return mcp


@pytest.fixture
def issuer(clock: FrozenClock) -> FakeAuthorizationServer:
    return FakeAuthorizationServer(clock=clock)


@asynccontextmanager
async def serve(issuer: FakeAuthorizationServer) -> AsyncIterator[httpx.AsyncClient]:
    """The protected server and a client for it; entered in the test's own task, since the
    SDK's session manager runs a task group that must be left in the task that entered it."""
    server = build_server()
    async with issuer.http() as http:
        verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=http, clock=issuer.clock)
        app = protect_mcp(
            server.streamable_http_app(json_response=True),
            verifier=verifier,
            metadata=ProtectedResourceMetadata(
                resource=RESOURCE, authorization_servers=[ISSUER], scopes_supported=[READ]
            ),
            required_scopes=[READ],
            tool_scopes={"email_send": [SEND]},
        )
        async with server.session_manager.run():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                yield client


def rpc(method: str, params: dict[str, Any] | None = None, id: int | None = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params or {}}
    if id is not None:
        message["id"] = id
    return message


class Session:
    """A JSON-RPC session against the MCP endpoint with one access token."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self.client = client
        self.token = token
        self.session_id: str | None = None

    async def post(self, message: Any, token: str | None = None) -> httpx.Response:
        headers = {
            "authorization": f"Bearer {token or self.token}",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2025-11-25",
        }
        if self.session_id:
            headers["mcp-session-id"] = self.session_id
        return await self.client.post("/mcp", json=message, headers=headers)

    async def open(self) -> None:
        info = {"name": "test", "version": "1"}
        params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": info}
        response = await self.post(rpc("initialize", params))
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        assert (await self.post(rpc("notifications/initialized", id=None))).status_code == 202

    async def call(self, tool: str, **arguments: Any) -> httpx.Response:
        return await self.post(rpc("tools/call", {"name": tool, "arguments": arguments}, id=7))


def tool_text(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    text: str = result["content"][0]["text"]
    return text


async def test_metadata_and_no_token_challenge(issuer: FakeAuthorizationServer) -> None:
    async with serve(issuer) as client:
        metadata = await client.get("/.well-known/oauth-protected-resource/mcp")
        unauthenticated = await client.post("/mcp", json=rpc("tools/list"))

    assert metadata.json()["resource"] == RESOURCE
    assert metadata.json()["scopes_supported"] == [READ]
    assert unauthenticated.status_code == 401
    assert parse_bearer_challenge(unauthenticated.headers["www-authenticate"]) == {
        "resource_metadata": PRM_URL,
        "scope": READ,
    }


async def test_tool_sees_the_principal(issuer: FakeAuthorizationServer) -> None:
    async with serve(issuer) as client:
        session = Session(client, issuer.mint(aud=RESOURCE, scope=READ))
        await session.open()

        assert tool_text(await session.call("calendar_next_events")) == (
            "events of usr_alice for agent agent-1"
        )


async def test_tool_needing_more_scope_is_403_then_step_up_succeeds(
    issuer: FakeAuthorizationServer,
) -> None:
    async with serve(issuer) as client:
        session = Session(client, issuer.mint(aud=RESOURCE, scope="read:calendar"))
        await session.open()

        refused = await session.call("email_send", to="bob@example.com")

        assert refused.status_code == 403
        assert parse_bearer_challenge(refused.headers["www-authenticate"]) == {
            "error": "insufficient_scope",
            "resource_metadata": PRM_URL,
            "scope": f"{READ} {SEND}",
        }

        stepped_up = Session(client, issuer.mint(aud=RESOURCE, scope=f"read:calendar {SEND}"))
        await stepped_up.open()
        assert tool_text(await stepped_up.call("email_send", to="bob@example.com")) == (
            "sent to bob@example.com"
        )


async def test_batched_tool_calls_are_checked_too(issuer: FakeAuthorizationServer) -> None:
    async with serve(issuer) as client:
        session = Session(client, issuer.mint(aud=RESOURCE, scope=READ))
        await session.open()
        calls = [
            rpc("tools/call", {"name": "calendar_next_events", "arguments": {}}, id=1),
            rpc("tools/call", {"name": "email_send", "arguments": {"to": "x"}}, id=2),
        ]

        assert (await session.post(calls)).status_code == 403


async def test_session_is_bound_to_the_principal_that_opened_it(
    issuer: FakeAuthorizationServer,
) -> None:
    async with serve(issuer) as client:
        session = Session(client, issuer.mint(aud=RESOURCE, scope=READ))
        await session.open()
        mallory = issuer.mint(aud=RESOURCE, scope=READ, sub="usr_mallory")

        hijack = await session.post(rpc("tools/call", {"name": "calendar_next_events"}), mallory)

        assert hijack.status_code == 404  # the SDK answers as if the session did not exist


async def test_recipe_with_the_sdks_own_auth(issuer: FakeAuthorizationServer) -> None:
    """Recipe 1 of warden.resource.mcp: the SDK's AuthSettings with Warden's verifier."""
    async with issuer.http() as http:
        verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=http, clock=issuer.clock)
        server = MCPServer(
            "calendar",
            token_verifier=McpTokenVerifier(verifier),
            auth=AuthSettings(
                issuer_url=ISSUER,
                resource_server_url=RESOURCE,
                required_scopes=[READ],
                validate_token_resource=True,
            ),
        )
        server.tool(name="ping")(lambda: "ok")
        app = server.streamable_http_app(json_response=True)
        async with server.session_manager.run():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                metadata = await client.get("/.well-known/oauth-protected-resource/mcp")
                good = Session(client, issuer.mint(aud=RESOURCE, scope=READ))
                await good.open()
                other = Session(client, issuer.mint(aud="https://other.example/mcp", scope=READ))
                refused = await other.post(rpc("tools/list"))

    assert metadata.json()["authorization_servers"] == [ISSUER]
    assert metadata.json()["resource"] == RESOURCE
    assert refused.status_code == 401
