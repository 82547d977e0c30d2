"""The demo MCP server's protection: advertised scopes, per-tool scopes, the caller it names.

The app is exactly what ``warden mcp-demo`` serves, with a fake issuer's keys
(tests/unit/resource/support.py); the client speaks JSON-RPC over Starlette's test client,
which runs the app's lifespan (the SDK's session manager).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.unit.resource.support import ISSUER, NOW, FakeAuthorizationServer

from warden.clock import FrozenClock
from warden.demo.mcp_server import (
    CALENDAR_SCOPE,
    DEFAULT_SCOPES,
    DRAFT_SCOPE,
    SEND_SCOPE,
    create_demo_app,
    resource_uri,
)
from warden.resource import TokenVerifier, parse_bearer_challenge

RESOURCE = "http://127.0.0.1:8001/mcp"
PRM_PATH = "/.well-known/oauth-protected-resource/mcp"
PRM_URL = f"http://127.0.0.1:8001{PRM_PATH}"
DRAFT_ARGS = {"to": "sam@example.com", "subject": "Lunch", "body": "Thursday?"}


class Issuer(FakeAuthorizationServer):
    """The fake issuer, minting tokens for the demo server's resource."""

    def claims(self, **overrides: Any) -> dict[str, Any]:
        return super().claims(**{"aud": RESOURCE, **overrides})


@pytest.fixture
def issuer() -> FakeAuthorizationServer:
    return Issuer(clock=FrozenClock(NOW))


@pytest.fixture
def client(issuer: FakeAuthorizationServer) -> Iterator[TestClient]:
    verifier = TokenVerifier(
        issuer=ISSUER, resource=RESOURCE, http=issuer.http(), clock=issuer.clock
    )
    app = create_demo_app(resource=RESOURCE, authorization_server=ISSUER, verifier=verifier)
    # The SDK's DNS-rebinding guard admits loopback Host headers only.
    with TestClient(app, base_url="http://127.0.0.1:8001") as test_client:
        yield test_client


class Session:
    """One MCP session (protocol 2025-11-25) with one access token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {
            "authorization": f"Bearer {token}",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2025-11-25",
        }
        info = {"name": "test", "version": "1"}
        params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": info}
        opened = self.post("initialize", params)
        assert opened.status_code == 200, opened.text
        self.headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert client.post("/mcp", json=initialized, headers=self.headers).status_code == 202

    def post(self, method: str, params: dict[str, Any]) -> Any:
        message = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return self.client.post("/mcp", json=message, headers=self.headers)

    def result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        response = self.post(method, params)
        assert response.status_code == 200, response.text
        data = next(line[5:] for line in response.text.splitlines() if line.startswith("data:"))
        result: dict[str, Any] = json.loads(data)["result"]
        return result

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = self.result("tools/call", {"name": tool, "arguments": arguments})
        assert not result.get("isError"), result
        structured: dict[str, Any] = result["structuredContent"]
        return structured


def test_resource_uri_is_the_mcp_endpoint_on_loopback() -> None:
    assert resource_uri(8001) == RESOURCE


@pytest.mark.parametrize("path", [PRM_PATH, "/.well-known/oauth-protected-resource"])
def test_metadata_advertises_only_the_non_sensitive_scopes(client: TestClient, path: str) -> None:
    document = client.get(path).json()

    assert document["resource"] == RESOURCE
    assert document["authorization_servers"] == [ISSUER]
    assert document["scopes_supported"] == sorted(DEFAULT_SCOPES)
    assert SEND_SCOPE not in document["scopes_supported"]


def test_no_token_gets_a_challenge_naming_the_scopes_to_ask_for(client: TestClient) -> None:
    response = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})

    assert response.status_code == 401
    assert parse_bearer_challenge(response.headers["www-authenticate"]) == {
        "resource_metadata": PRM_URL,
        "scope": f"{CALENDAR_SCOPE} {DRAFT_SCOPE}",
    }


def test_the_broader_read_calendar_covers_the_calendar_tool(
    client: TestClient, issuer: FakeAuthorizationServer
) -> None:
    session = Session(client, issuer.mint(scope="read:calendar"))

    result = session.call("calendar_next_events")

    assert result["caller"] == {
        "user": "usr_alice",
        "agent": "agent-1",
        "actor_type": "agent",
        "client_id": "agent-1",
    }
    assert [event["day"] for event in result["events"]] == [
        "Monday",
        "Tuesday",
        "Thursday",
        "Friday",
    ]


@pytest.mark.parametrize(
    ("granted", "tool", "needed"),
    [
        (" ".join(DEFAULT_SCOPES), "email_send", SEND_SCOPE),
        ("read:calendar", "email_draft", DRAFT_SCOPE),
        (DRAFT_SCOPE, "calendar_next_events", CALENDAR_SCOPE),
    ],
)
def test_each_tool_needs_its_scope_and_the_403_names_it(
    client: TestClient, issuer: FakeAuthorizationServer, granted: str, tool: str, needed: str
) -> None:
    session = Session(client, issuer.mint(scope=granted))

    refused = session.post("tools/call", {"name": tool, "arguments": DRAFT_ARGS})

    assert refused.status_code == 403
    assert parse_bearer_challenge(refused.headers["www-authenticate"]) == {
        "error": "insufficient_scope",
        "resource_metadata": PRM_URL,
        "scope": needed,
    }


def test_after_step_up_email_send_succeeds_deterministically(
    client: TestClient, issuer: FakeAuthorizationServer
) -> None:
    scopes = " ".join((*DEFAULT_SCOPES, SEND_SCOPE))
    session = Session(client, issuer.mint(scope=scopes))

    first = session.call("email_send", **DRAFT_ARGS)
    again = session.call("email_send", **DRAFT_ARGS)

    assert first == again
    assert first["status"] == "sent (demo)"
    assert first["message_id"].startswith("sent-")


def test_a_client_acting_as_itself_is_named_as_no_user(
    client: TestClient, issuer: FakeAuthorizationServer
) -> None:
    token = issuer.mint(sub="agent-1", act=None, actor_type="service", scope=DRAFT_SCOPE)

    result = Session(client, token).call("email_draft", **DRAFT_ARGS)

    assert result["caller"] == {
        "user": None,
        "agent": None,
        "actor_type": "service",
        "client_id": "agent-1",
    }


def test_email_send_is_marked_sensitive(
    client: TestClient, issuer: FakeAuthorizationServer
) -> None:
    session = Session(client, issuer.mint(scope=CALENDAR_SCOPE))

    tools = {tool["name"]: tool for tool in session.result("tools/list", {})["tools"]}

    assert set(tools) == {"calendar_next_events", "email_draft", "email_send"}
    assert tools["email_send"]["annotations"]["destructiveHint"] is True
    assert tools["email_send"]["_meta"]["sensitive"] is True
    assert tools["calendar_next_events"]["annotations"]["readOnlyHint"] is True
