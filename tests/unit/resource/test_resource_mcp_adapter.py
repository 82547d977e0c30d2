"""The mcp SDK adapter: AccessToken mapping, FastMCP attributes, and the tools/call guard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.unit.resource.support import ISSUER, RESOURCE, FakeAuthorizationServer

from warden.resource import InsufficientScopeError, TokenVerifier
from warden.resource.mcp import McpTokenVerifier, ToolScopes


async def test_verify_token_maps_the_principal(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    token = issuer.mint(scope="read:calendar write:email:send")

    access = await McpTokenVerifier(verifier).verify_token(token)

    assert access is not None
    assert access.token == token
    assert access.client_id == "agent-1"
    assert access.scopes == ["read:calendar", "write:email:send"]
    assert access.subject == "usr_alice"
    assert access.resource == RESOURCE
    assert access.expires_at == int(issuer.clock.now()) + 300
    assert access.claims is not None and access.claims["act"] == {"sub": "agent-1"}


async def test_refused_or_unverifiable_tokens_are_none(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    adapter = McpTokenVerifier(verifier)

    assert await adapter.verify_token(issuer.mint(aud="https://other.example")) is None
    issuer.jwks_status = 500
    async with issuer.http() as http:
        down = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=http, clock=issuer.clock)
        assert await McpTokenVerifier(down).verify_token(issuer.mint()) is None


def test_fastmcp_reads_scopes_from_the_verifier(verifier: TokenVerifier) -> None:
    adapter = McpTokenVerifier(verifier, required_scopes=["b", "a"])

    assert adapter.required_scopes == ["a", "b"]
    assert adapter.scopes_supported == ["a", "b"]
    with pytest.raises(ValueError):
        McpTokenVerifier(verifier, scopes_supported=["offline_access"])


async def drive(guard: ToolScopes, body: bytes, auth: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    chunks = [body[:5], body[5:]]

    async def receive() -> dict[str, Any]:
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(await receive())

    async def send(message: dict[str, Any]) -> None:
        seen.append(message)

    await guard({"type": "http", "method": "POST", "auth": auth}, receive, send)
    return seen


async def unreachable(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the app must not be called")


def call(name: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}}


async def test_tool_scopes_replays_the_body_to_the_app(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(issuer.mint(scope="write:email"))
    guard = ToolScopes(unreachable, {"email_send": ["write:email:send"]})
    body = json.dumps(call("email_send")).encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        assert message == {"type": "http.request", "body": body, "more_body": False}

    guard.app = app
    await drive(guard, body, principal)


async def test_tool_scopes_refuses_a_call_lacking_scope(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(issuer.mint(scope="read:calendar"))
    guard = ToolScopes(unreachable, {"email_send": ["write:email:send"]})

    with pytest.raises(InsufficientScopeError) as raised:
        await drive(guard, json.dumps([call("other"), call("email_send")]).encode(), principal)

    assert raised.value.scopes == {"write:email:send"}


@pytest.mark.parametrize("body", [b"not json", json.dumps(call("other")).encode(), b"[1, 2]"])
async def test_tool_scopes_passes_what_needs_nothing(body: bytes) -> None:
    reached: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append((await receive())["body"])

    guard = ToolScopes(app, {"email_send": ["write:email:send"]})

    await drive(guard, body, None)

    assert reached == [body]


async def test_tool_scopes_outside_require_bearer_fails_closed() -> None:
    guard = ToolScopes(unreachable, {"email_send": ["write:email:send"]})

    with pytest.raises(RuntimeError, match="RequireBearer"):
        await drive(guard, json.dumps(call("email_send")).encode(), None)
