"""Interop: the official ``mcp`` Python SDK client, through Warden, to the demo MCP server.

Both servers run for real under uvicorn on free loopback ports (demo_servers.py): Warden
with a temporary SQLite database and an http loopback issuer, and the demo MCP server of
``warden mcp-demo``. The client is ``mcp.Client`` over ``streamable_http_client`` with the
SDK's ``OAuthClientProvider`` on an httpx2 client (mcp-auth.md recipe 6b); the person at the
browser is ``warden.demo.person.HeadlessPerson``, which follows the
authorization URL, signs in, approves and hands back ``code``, ``state`` and ``iss``.

The walk: list tools → ``calendar_next_events`` → ``email_send`` answers 403
``insufficient_scope`` → the SDK re-authorises for the union of scopes → ``email_send``
succeeds. Once with dynamic client registration, once with a Client ID Metadata Document
served over https on loopback (the SDK accepts only an https ``client_metadata_url``; the
test's certificate authority is given to Warden's fetcher, nothing else is relaxed but
``cimd.allow_loopback``).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata
from mcp_types import CallToolResult
from pydantic import AnyUrl
from tests.interop.demo_servers import PASSWORD, USERNAME, DemoServers, Running

from warden.demo.mcp_server import (
    CALENDAR_SCOPE,
    DRAFT_SCOPE,
    SEND_SCOPE,
)
from warden.demo.narration import decode_jwt
from warden.demo.person import HeadlessPerson
from warden.demo.walk import MemoryTokenStorage
from warden.resource import parse_bearer_challenge

pytestmark = pytest.mark.interop

REDIRECT_URI = "http://127.0.0.1/callback"
TIMEOUT_SECONDS = 60


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    www_authenticate: str | None


@dataclass
class World:
    """Warden and the demo MCP server, running; and what the client sent them."""

    issuer: str
    resource: str
    user_id: str
    wire: list[Exchange] = field(default_factory=list)
    authorization_requests: list[dict[str, str]] = field(default_factory=list)
    storage: MemoryTokenStorage = field(default_factory=MemoryTokenStorage)

    @classmethod
    def of(cls, running: Running) -> World:
        return cls(issuer=running.issuer, resource=running.resource, user_id=running.user_id)

    def sent(self) -> list[str]:
        return [f"{e.method} {urlsplit(e.url).path} {e.status}" for e in self.wire]

    def access_token_claims(self) -> dict[str, Any]:
        assert self.storage.tokens is not None
        return decode_jwt(self.storage.tokens.access_token)[1]

    @asynccontextmanager
    async def client(self, *, client_metadata_url: str | None = None) -> AsyncIterator[Client]:
        """The official client, connected, with the SDK's OAuth provider and our person."""
        person = HeadlessPerson(USERNAME, PASSWORD, REDIRECT_URI)
        answers: list[AuthorizationCodeResult] = []

        async def redirect_handler(url: str) -> None:
            self.authorization_requests.append(
                {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
            )
            redirect = await person.authorize(url)
            assert redirect.code is not None, redirect.location
            answers.append(
                AuthorizationCodeResult(code=redirect.code, state=redirect.state, iss=redirect.iss)
            )

        async def callback_handler() -> AuthorizationCodeResult:
            return answers.pop()

        async def record(response: httpx2.Response) -> None:
            request, header = response.request, response.headers.get("www-authenticate")
            self.wire.append(
                Exchange(request.method, str(request.url), response.status_code, header)
            )

        oauth = OAuthClientProvider(
            self.resource,
            OAuthClientMetadata(client_name="SDK interop", redirect_uris=[AnyUrl(REDIRECT_URI)]),
            self.storage,
            redirect_handler,
            callback_handler,
            client_metadata_url=client_metadata_url,
        )
        hooks = {"response": [record]}
        try:
            async with (
                asyncio.timeout(TIMEOUT_SECONDS),
                httpx2.AsyncClient(auth=oauth, event_hooks=hooks, timeout=20) as http,
                Client(streamable_http_client(self.resource, http_client=http)) as client,
            ):
                yield client
        finally:
            await person.aclose()


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def walk(client: Client) -> dict[str, dict[str, Any]]:
    """list tools → calendar → email_send (403, step-up, retried); the tools' results."""
    tools = await client.list_tools()
    assert {t.name for t in tools.tools} == {"calendar_next_events", "email_draft", "email_send"}
    calendar = structured(await client.call_tool("calendar_next_events", {}))
    arguments = {"to": "sam@example.com", "subject": "Hi", "body": "Lunch?"}
    sent = structured(await client.call_tool("email_send", arguments))
    return {"calendar_next_events": calendar, "email_send": sent}


def assert_step_up(world: World, client_id: str) -> None:
    """The 401 and 403 challenges, both authorization requests and the final token."""
    challenges = [(e.status, e.www_authenticate) for e in world.wire if e.url == world.resource]
    first = next(parse_bearer_challenge(h or "") for s, h in challenges if s == 401)
    assert first == {
        "resource_metadata": world.resource.replace(
            "/mcp", "/.well-known/oauth-protected-resource/mcp"
        ),
        "scope": f"{CALENDAR_SCOPE} {DRAFT_SCOPE}",
    }
    refused = [parse_bearer_challenge(h or "") for s, h in challenges if s == 403]
    assert len(refused) == 1
    assert refused[0]["error"] == "insufficient_scope"
    assert refused[0]["scope"] == SEND_SCOPE

    first_request, step_up = world.authorization_requests
    assert {CALENDAR_SCOPE, DRAFT_SCOPE} <= set(first_request["scope"].split())
    assert SEND_SCOPE not in first_request["scope"].split()
    # SEP-2350: the SDK asks for the union of what it had and what the challenge names.
    assert {CALENDAR_SCOPE, DRAFT_SCOPE, SEND_SCOPE} <= set(step_up["scope"].split())
    for request in (first_request, step_up):
        assert request["client_id"] == client_id
        assert request["resource"] == world.resource
        assert request["code_challenge_method"] == "S256"


def assert_tool_results(world: World, results: dict[str, dict[str, Any]], client_id: str) -> None:
    for name in ("calendar_next_events", "email_send"):
        assert results[name]["caller"] == {
            "user": world.user_id,
            "agent": client_id,
            "actor_type": "agent",
            "client_id": client_id,
        }
    assert len(results["calendar_next_events"]["events"]) == 4
    assert results["email_send"]["status"] == "sent (demo)"


def assert_final_token(world: World, client_id: str) -> None:
    """RFC 9068 claims of the stepped-up token: for this user, this agent, this resource."""
    claims = world.access_token_claims()
    assert claims["iss"] == world.issuer
    assert claims["aud"] == world.resource
    assert claims["sub"] == world.user_id
    assert claims["act"] == {"sub": client_id}
    assert claims["actor_type"] == "agent"
    assert {CALENDAR_SCOPE, DRAFT_SCOPE, SEND_SCOPE} <= set(claims["scope"].split())


async def test_dynamic_registration_tools_and_step_up(
    demo_servers: DemoServers,
) -> None:
    world = World.of(await demo_servers.start())
    async with world.client() as client:
        results = await walk(client)

    registrations = [e for e in world.wire if urlsplit(e.url).path == "/register"]
    assert [e.status for e in registrations] == [201]
    client_id = world.authorization_requests[0]["client_id"]
    assert_step_up(world, client_id)
    assert_tool_results(world, results, client_id)
    assert_final_token(world, client_id)
    assert world.sent().count("POST /token 200") == 2


# --- Client ID Metadata Document over https on loopback ----------------------------------------


@dataclass
class Tls:
    server: ssl.SSLContext
    trust: ssl.SSLContext


def _tls(tmp_path: Path) -> Tls:
    """A self-signed certificate for ``localhost``, and a context trusting only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cimd.crt", tmp_path / "cimd.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    trust = ssl.create_default_context(cafile=str(cert_file))
    return Tls(server=server, trust=trust)


class _Documents(BaseHTTPRequestHandler):
    documents: dict[str, dict[str, Any]] = {}
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        document = self.documents.get(self.path)
        body = json.dumps(document or {"error": "not found"}).encode()
        self.send_response(200 if document else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=300")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def document_host(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, Tls]]:
    """An https server on localhost serving ``_Documents.documents``."""
    tls = _tls(tmp_path)
    handler = type("Documents", (_Documents,), {"documents": {}, "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = tls.server.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, tls
    server.shutdown()
    server.server_close()
    thread.join(5)


async def test_client_id_metadata_document_tools_and_step_up(
    demo_servers: DemoServers, document_host: tuple[ThreadingHTTPServer, Tls]
) -> None:
    server, tls = document_host
    handler: Any = server.RequestHandlerClass
    url = f"https://localhost:{server.server_address[1]}/sdk-agent.json"
    handler.documents["/sdk-agent.json"] = {
        "client_id": url,
        "client_name": "SDK interop (CIMD)",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    world = World.of(await demo_servers.start(trust=tls.trust))
    async with world.client(client_metadata_url=url) as client:
        results = await walk(client)

    assert not [e for e in world.wire if urlsplit(e.url).path == "/register"]
    assert handler.hits == ["/sdk-agent.json"]  # fetched once, then cached
    assert_step_up(world, url)
    assert_tool_results(world, results, url)
    assert_final_token(world, url)
