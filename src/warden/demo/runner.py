"""``warden demo``: Warden and the demo MCP server side by side, and an agent walking through.

:func:`run_demo` does, in order:

1. binds both ports on 127.0.0.1 (a busy one is a :class:`~warden.demo.servers.
   PortInUseError` before anything else happens);
2. prepares a throwaway SQLite database in a temporary directory, exactly as ``warden serve``
   would (schema by migration, a master secret, a signing key), adds the demo user with a
   fresh random password and registers the demo server as a resource (so the demo works
   under either resource policy);
3. starts both servers (:class:`~warden.demo.servers.BackgroundServer`);
4. walks the sample agent through the whole flow (:mod:`warden.demo.walk`);
5. unless told to exit, keeps both running, with their URLs and the sign-in printed, until
   Ctrl-C; then deletes the directory.

The demo's settings ignore ``WARDEN_*`` variables: it is self-contained, whatever the shell
has configured for a real server.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from rich.console import Console
from rich.markup import escape

from warden.clock import SystemClock
from warden.demo.mcp_server import DEFAULT_SCOPES, TOOL_SCOPES, create_demo_app, resource_uri
from warden.demo.narration import Narrator
from warden.demo.servers import BackgroundServer, bind_loopback
from warden.demo.walk import AgentProfile, WalkResult, walk
from warden.oauth.model import Resource
from warden.oauth.users import add_user
from warden.settings import Settings
from warden.storage import migrations
from warden.web.app import create_app
from warden.web.context import build_context

__all__ = ["DEMO_USERNAME", "DemoOptions", "DemoSettings", "run_demo"]

DEMO_USERNAME: Final = "demo"
WALK_TIMEOUT_SECONDS: Final = 120.0


class DemoSettings(Settings):
    """Settings from keyword arguments only: the demo ignores ``WARDEN_*`` and config files."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass(frozen=True, slots=True)
class DemoOptions:
    port: int = 8000
    """The authorization server's port; 0 for any free port."""
    mcp_port: int = 8001
    """The demo MCP server's port; 0 for any free port."""
    serve: bool = True
    """Keep both servers running after the walk, until Ctrl-C."""


@dataclass(frozen=True, slots=True)
class _Demo:
    settings: Settings
    resource: str
    password: str
    directory: Path


def run_demo(options: DemoOptions, console: Console) -> WalkResult:
    """Run the demo (see the module docstring); returns what the walk saw.

    :raises PortInUseError: a port is taken.
    """
    with ExitStack() as stack:
        auth_socket = stack.enter_context(bind_loopback(options.port))
        mcp_socket = stack.enter_context(bind_loopback(options.mcp_port))
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="warden-demo-")))
        demo = _Demo(
            settings=_settings(auth_socket, directory),
            resource=resource_uri(mcp_socket.getsockname()[1]),
            password=secrets.token_urlsafe(9),
            directory=directory,
        )
        asyncio.run(_prepare(demo))
        settings, resource = demo.settings, demo.resource
        servers = (
            BackgroundServer("authorization server", lambda: create_app(settings), auth_socket),
            BackgroundServer(
                "demo MCP server",
                lambda: create_demo_app(resource=resource, authorization_server=settings.issuer),
                mcp_socket,
            ),
        )
        for server in servers:
            stack.enter_context(server)
        _introduce(console, demo)
        result = asyncio.run(_walk(demo, Narrator(console)))
        Narrator(console).done("The agent got through: every step above succeeded.")
        if options.serve:
            _keep_serving(console, demo, servers)
    return result


def _settings(sock: socket.socket, directory: Path) -> Settings:
    return DemoSettings(
        issuer=f"http://127.0.0.1:{sock.getsockname()[1]}",
        database_url=f"sqlite+aiosqlite:///{directory / 'warden.db'}",
        secret_key_file=directory / "warden.secret",
    )


async def _prepare(demo: _Demo) -> None:
    """What ``warden serve`` prepares, plus the demo user and the demo resource."""
    ctx = build_context(demo.settings)
    try:
        await migrations.upgrade(ctx.db.engine)
        now = SystemClock().now()
        async with ctx.db.unit_of_work() as stores:
            await ctx.keyring.load(stores.keys)
            await add_user(
                stores.users, DEMO_USERNAME, demo.password, passwords=ctx.passwords, now=now
            )
            scopes = sorted({scope for needed in TOOL_SCOPES.values() for scope in needed})
            await stores.resources.add(
                Resource(demo.resource, tuple(scopes), "Warden demo MCP server", now)
            )
    finally:
        await ctx.clients.aclose()
        await ctx.limiter.aclose()
        await ctx.db.dispose()


async def _walk(demo: _Demo, narrator: Narrator) -> WalkResult:
    profile = AgentProfile(mcp_url=demo.resource, username=DEMO_USERNAME, password=demo.password)
    async with asyncio.timeout(WALK_TIMEOUT_SECONDS):
        return await walk(profile, narrator)


def _introduce(console: Console, demo: _Demo) -> None:
    console.rule("[bold]Warden demo")
    console.print(
        f"Authorization server  [link]{demo.settings.issuer}[/]  "
        f"[dim](SQLite in {escape(str(demo.directory))})[/]\n"
        f"Demo MCP server       [link]{demo.resource}[/]  "
        f"[dim](asks for: {' '.join(DEFAULT_SCOPES)}; email_send needs write:email:send)[/]\n"
        f"Demo user             {DEMO_USERNAME} / {escape(demo.password)}\n"
        "[dim]Development settings: plain http on 127.0.0.1, a generated secret, open "
        "registration. Fine on your machine; see the README before production.[/]",
        emoji=False,
    )


def _keep_serving(console: Console, demo: _Demo, servers: tuple[BackgroundServer, ...]) -> None:
    console.print()
    console.rule("[bold]Both servers keep running")
    console.print(
        f"MCP server            [link]{demo.resource}[/]\n"
        f"Authorization server  [link]{demo.settings.issuer}[/]\n"
        f"Sign in as            {DEMO_USERNAME} / {escape(demo.password)}\n\n"
        "Point an MCP client at the MCP server URL; it discovers Warden by itself. With the "
        "MCP Inspector:\n"
        "  npx @modelcontextprotocol/inspector\n"
        f"  → Transport: Streamable HTTP, URL: {demo.resource} → Open Auth Settings → "
        "Quick OAuth Flow\n"
        "With Claude Code:\n"
        f"  claude mcp add --transport http warden-demo {demo.resource}\n\n"
        "Press Ctrl-C to stop (the demo database is deleted).",
        emoji=False,
    )
    try:
        while all(server.running for server in servers):
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("\nStopping.")
        return
    stopped = ", ".join(server.name for server in servers if not server.running)
    raise RuntimeError(f"the {stopped} stopped unexpectedly")
