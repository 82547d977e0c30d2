"""A small world for the agent flows: Warden at https://warden.test, a protected MCP-style
resource at https://mcp.test (built with ``warden.resource``), one transport routing by host,
and a headless person who signs in and approves.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from helpers import PASSWORD, add_user, parse_form
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from warden.agent import AgentAuth, AuthorizationCodeFlow, DeviceAuthorization, Flow
from warden.clock import FrozenClock
from warden.resource import (
    Principal,
    ProtectedResourceMetadata,
    RequireBearer,
    TokenVerifier,
    require_scopes,
)
from warden.web.context import AppContext

ISSUER = "https://warden.test"
RESOURCE = "https://mcp.test/mcp"
REDIRECT_URI = "http://127.0.0.1/callback"
CALENDAR = "read:calendar:next-7-days"
SEND = "write:email:send"


class HostRouter(httpx.AsyncBaseTransport):
    """Sends each request to the transport of its host; records every request."""

    def __init__(self, routes: dict[str, httpx.AsyncBaseTransport]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        transport = self.routes.get(request.url.host)
        if transport is None:
            return httpx.Response(502, text=f"no route to {request.url.host}")
        return await transport.handle_async_request(request)

    def paths(self, host: str) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.seen if r.url.host == host]


def resource_app(keys: httpx.AsyncClient, clock: FrozenClock) -> Starlette:
    """The protected resource: ``/mcp`` needs the calendar scope, ``/mcp/send`` also send.

    ``keys`` reaches Warden for its metadata and JWKS, as a resource server elsewhere would.
    """

    def principal(request: Request) -> Principal:
        found: Principal = request.state.principal
        return found

    async def calendar(request: Request) -> JSONResponse:
        who = principal(request)
        require_scopes(who, CALENDAR)
        return JSONResponse({"user": who.user_id, "scopes": sorted(who.scopes)})

    async def send(request: Request) -> JSONResponse:
        who = principal(request)
        require_scopes(who, CALENDAR, SEND)  # every scope the operation needs (RS8)
        return JSONResponse({"sent": True, "scopes": sorted(who.scopes)})

    guard = Middleware(
        RequireBearer,
        verifier=TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=keys, clock=clock),
        metadata=ProtectedResourceMetadata(
            resource=RESOURCE, authorization_servers=[ISSUER], scopes_supported=[CALENDAR]
        ),
    )
    routes = [
        Route("/mcp", calendar, methods=["GET", "POST"]),
        Route("/mcp/send", send, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[guard])


@dataclass
class Person:
    """Plays the browser and the person: signs in as alice and approves every page."""

    browser: httpx.AsyncClient
    redirect_uri: str = REDIRECT_URI
    asked: list[str] = field(default_factory=list)
    """Every authorization URL the agent opened."""
    pages: list[str] = field(default_factory=list)
    """The path of every page shown (sign-in, consent, device)."""

    async def approve(self, url: str) -> str:
        """``open_authorization_url`` for AuthorizationCodeFlow: the callback URL."""
        self.asked.append(url)
        response = await self.browser.get(url)
        for _ in range(8):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if _at(location, self.redirect_uri):
                    return location
                response = await self.browser.get(location)
                continue
            response = await self.submit(response, {})
        raise AssertionError("the redirect URI was never reached")

    async def confirm_device(self, authorization: DeviceAuthorization) -> None:
        """Open ``verification_uri_complete``, sign in, and approve the device (RFC 8628 §3.3)."""
        assert authorization.verification_uri_complete is not None
        self.asked.append(authorization.verification_uri_complete)
        response = await self.browser.get(authorization.verification_uri_complete)
        for _ in range(8):
            if response.is_redirect:
                response = await self.browser.get(
                    urljoin(str(response.url), response.headers["location"])
                )
            elif 'name="password"' in response.text or 'name="decision"' in response.text:
                response = await self.submit(response, {})
            else:
                assert response.status_code == 200, (response.status_code, response.text[:2000])
                assert "Device connected" in response.text, response.text[:2000]
                return
        raise AssertionError("the device was never approved")

    async def submit(self, page: httpx.Response, fields: dict[str, str]) -> httpx.Response:
        """Post the page's form as a person who signs in and approves."""
        assert page.status_code == 200, (page.status_code, page.text[:2000])
        self.pages.append(page.url.path)
        action, data = parse_form(page.text)
        if 'name="password"' in page.text:
            data.update(username="alice", password=PASSWORD)
        if 'name="decision"' in page.text:
            data["decision"] = "approve"
        return await self.browser.post(urljoin(str(page.url), action), data={**data, **fields})


def _at(location: str, redirect_uri: str) -> bool:
    here, there = urlsplit(location), urlsplit(redirect_uri)
    return (here.scheme, here.hostname, here.path) == (there.scheme, there.hostname, there.path)


@dataclass
class DocumentHost:
    """A loopback HTTP listener serving JSON documents by path (a stand-in for the agent's
    https site: the AS reaches it through a stub resolver and ``cimd.allow_loopback``)."""

    port: int = 0
    documents: dict[str, dict[str, object]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "agent.test") -> str:
        return f"http://{host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1].decode()
        self.hits.append(path)
        found = self.documents.get(path)
        body = json.dumps(found if found is not None else {"error": "not found"}).encode()
        status = "200 OK" if found is not None else "404 Not Found"
        writer.write(
            (
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + body
        )
        await writer.drain()
        writer.close()


class LoopbackResolver:
    """Every host name resolves to the loopback listener."""

    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]


@dataclass
class World:
    """Warden, the resource, the router between them, the agent's HTTP client and the person."""

    ctx: AppContext
    router: HostRouter
    http: httpx.AsyncClient
    person: Person
    clock: FrozenClock

    def agent(self, flow: Flow | None = None, **kwargs: Any) -> AgentAuth:
        flow = flow or AuthorizationCodeFlow(self.person.approve, REDIRECT_URI)
        return AgentAuth(flow, http=self.http, clock=self.clock, **kwargs)

    async def call(self, auth: AgentAuth, path: str = "/mcp") -> httpx.Response:
        async with httpx.AsyncClient(transport=self.router, auth=auth) as app:
            return await app.post(f"https://mcp.test{path}", json={"method": "tools/call"})

    def sent(self, host: str = "warden.test") -> list[str]:
        return self.router.paths(host)

    def form(self, index: int) -> dict[str, str]:
        request = self.router.seen[index]
        return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


WorldFactory = Callable[..., Awaitable[World]]


async def build_world(
    stack: AsyncExitStack, make_app: Any, clock: FrozenClock, **settings: Any
) -> World:
    """A Warden app (``settings`` overrides) with alice, the resource, and the plumbing."""
    as_app, ctx = await make_app(**settings)
    await add_user(ctx)
    as_transport = httpx.ASGITransport(app=as_app, client=("203.0.113.7", 50000))
    keys = await stack.enter_async_context(
        httpx.AsyncClient(transport=as_transport, base_url=ISSUER)
    )
    rs_transport = httpx.ASGITransport(app=resource_app(keys, clock))
    router = HostRouter({"warden.test": as_transport, "mcp.test": rs_transport})
    http = await stack.enter_async_context(httpx.AsyncClient(transport=router))
    # The person's browser: its own cookie jar, on another address than the agent.
    browser = await stack.enter_async_context(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=as_app, client=("198.51.100.9", 50001)),
            base_url=ISSUER,
        )
    )
    return World(ctx, router, http, Person(browser), clock)
