"""Warden and the demo MCP server, for real, for the interop tests.

Both run under uvicorn in background threads on free loopback ports
(``warden.demo.servers``): Warden with a temporary SQLite database, an http loopback issuer
and a user who can sign in; the demo MCP server exactly as ``warden mcp-demo`` serves it.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from warden.demo.mcp_server import create_demo_app, resource_uri
from warden.demo.servers import BackgroundServer, bind_loopback
from warden.net import FetchLimits, SafeFetcher
from warden.oauth.clients import ClientDirectory
from warden.oauth.model import Client
from warden.oauth.users import add_user
from warden.settings import Settings
from warden.web.app import create_app
from warden.web.context import build_context

__all__ = ["PASSWORD", "USERNAME", "DemoServers", "Running"]

USERNAME = "alice"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Running:
    """Where the servers listen, and who can sign in."""

    issuer: str
    resource: str
    user_id: str


@dataclass
class DemoServers:
    """Starts the pair (:meth:`start`); :meth:`stop` stops every server started."""

    directory: Path
    started: list[BackgroundServer] = field(default_factory=list)

    async def start(
        self,
        *,
        trust: ssl.SSLContext | None = None,
        clients: Iterable[Client] = (),
        **settings: Any,
    ) -> Running:
        """Start Warden (``settings`` overriding the defaults) and the demo MCP server.

        :param trust: fetch Client ID Metadata Documents trusting only this TLS context (and
            from loopback addresses, ``cimd.allow_loopback``).
        :param clients: stored before Warden starts, as an operator would pre-register them.
        """
        auth_socket, mcp_socket = bind_loopback(0), bind_loopback(0)
        if trust is not None:
            settings["cimd"] = {"allow_loopback": True}
        config = Settings(
            issuer=f"http://127.0.0.1:{auth_socket.getsockname()[1]}",
            database_url=f"sqlite+aiosqlite:///{self.directory / 'warden.db'}",
            secret_key="interop-secret-" + "x" * 40,
            login={"argon2_memory_kib": 1024, "argon2_time_cost": 1},
            **settings,
        )
        user_id = await _prepare(config, clients)
        resource = resource_uri(mcp_socket.getsockname()[1])
        servers = [
            BackgroundServer("authorization server", _warden(config, trust), auth_socket),
            BackgroundServer(
                "demo MCP server",
                lambda: create_demo_app(resource=resource, authorization_server=config.issuer),
                mcp_socket,
            ),
        ]
        for server in servers:
            server.start()
            self.started.append(server)
        return Running(issuer=config.issuer, resource=resource, user_id=user_id)

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()


async def _prepare(settings: Settings, clients: Iterable[Client]) -> str:
    ctx = build_context(settings)
    try:
        await ctx.db.create_all()
        async with ctx.db.unit_of_work() as stores:
            user = await add_user(
                stores.users, USERNAME, PASSWORD, passwords=ctx.passwords, now=ctx.clock.now()
            )
            for client in clients:
                await stores.clients.add(client)
        return user.user_id
    finally:
        await ctx.clients.aclose()
        await ctx.limiter.aclose()
        await ctx.db.dispose()


def _warden(settings: Settings, trust: ssl.SSLContext | None) -> Callable[[], ASGIApp]:
    """Warden's app factory; with ``trust``, CIMD documents are fetched trusting it."""

    def factory() -> ASGIApp:
        ctx = build_context(settings)
        if trust is not None:
            limits = FetchLimits(allow_loopback=True)
            ctx.clients = ClientDirectory.from_settings(
                settings,
                scopes=ctx.scopes,
                limiter=ctx.limiter,
                clock=ctx.clock,
                fetcher=SafeFetcher(limits, clock=ctx.clock, ssl_context=trust),
            )
        return create_app(context=ctx)

    return factory
