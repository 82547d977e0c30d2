"""`warden serve`: prepare the database and keys once, then run the app under uvicorn.

Preparation happens in this (parent) process before any worker starts, so N workers never
race to create N master secrets, N signing keys or N copies of the schema:

- **Schema.** An embedded SQLite database is upgraded automatically: it belongs to this one
  server. A server database (PostgreSQL) is shared by every node, and changing its schema is
  a deployment step, so ``serve`` refuses to start on an outdated schema and says to run
  ``warden db upgrade`` (or pass ``--migrate`` to let this server do it).
- **Master secret** (development only): generated into ``secret_key_file`` if missing.
- **Signing key**: created if none is active.

Each worker then builds its own app from the ``WARDEN_*`` environment
(``warden.web.app:create_app`` as a uvicorn factory) and logs the insecure settings in use.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import logging.config
from enum import StrEnum
from typing import Annotated, Any

import typer
import uvicorn
from alembic.util.exc import CommandError
from pydantic import ValidationError
from uvicorn.config import LOGGING_CONFIG

from warden.errors import WardenError
from warden.settings import Settings
from warden.storage import migrations
from warden.web.context import AppContext, build_context

__all__ = ["serve"]

log = logging.getLogger("warden")


class LogLevel(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[LogLevel, typer.Option(help="Least severe level logged.")] = (
        LogLevel.info
    ),
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Upgrade the schema before serving [default: only for SQLite].",
        ),
    ] = None,
) -> None:
    """Run the authorization server."""
    logging.config.dictConfig(logging_config(log_level))
    try:
        settings = Settings()
        asyncio.run(prepare(settings, migrate=migrate, workers=workers))
    except (ValidationError, WardenError, CommandError) as exc:
        typer.echo(f"warden serve: {exc}", err=True)
        raise typer.Exit(1) from exc
    uvicorn.run(
        "warden.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(log_level),
        # Forwarded headers only from the proxies named in settings (SEC-114).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        server_header=False,
    )


async def prepare(settings: Settings, *, migrate: bool | None, workers: int) -> None:
    """Everything that must happen exactly once before workers start."""
    ctx = build_context(settings)  # creates the development master secret if missing
    try:
        await _ensure_schema(ctx, migrate=ctx.db.is_sqlite if migrate is None else migrate)
        async with ctx.db.unit_of_work() as stores:
            await ctx.keyring.load(stores.keys)  # creates the first signing key
    finally:
        await ctx.limiter.aclose()
        await ctx.db.dispose()
    if ctx.db.is_sqlite and workers > 1:
        log.warning("SQLite with %d workers: writes are serialised on one file", workers)


async def _ensure_schema(ctx: AppContext, *, migrate: bool) -> None:
    if await migrations.is_up_to_date(ctx.db.engine):
        return
    if not migrate:
        current = await migrations.current_revision(ctx.db.engine)
        raise SchemaOutdatedError(
            f"the database schema is at {current or 'nothing (empty database)'}, this Warden "
            f"needs {migrations.head_revision()}: run `warden db upgrade` (or serve --migrate)"
        )
    await migrations.upgrade(ctx.db.engine)
    log.info("database schema upgraded to %s", migrations.head_revision())


class SchemaOutdatedError(WardenError):
    """The database schema is older than this Warden and may not be upgraded here."""


def logging_config(level: LogLevel) -> dict[str, Any]:
    """uvicorn's logging, with Warden's own loggers on the same handler and level."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["warden"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"][name]["level"] = level.upper()
    return config
