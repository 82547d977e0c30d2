"""`warden db ...`: bring the database schema up to date, show where it stands, and purge
what has expired."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from warden.clock import SystemClock
from warden.oauth.janitor import purge_expired
from warden.settings import Settings
from warden.storage import migrations
from warden.storage.engine import Database

__all__ = ["app"]

app = typer.Typer(help="Database schema migrations and housekeeping.", no_args_is_help=True)

T = TypeVar("T")


@app.command()
def upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest) in one transaction."""
    before = _run(migrations.current_revision)
    _run(lambda engine: migrations.upgrade(engine, revision))
    after = _run(migrations.current_revision)
    if before == after:
        typer.echo(f"Already at {after}.")
    else:
        typer.echo(f"Upgraded {before or 'an empty database'} → {after}.")


@app.command()
def current() -> None:
    """Show the database's revision and whether it is the newest this Warden ships."""
    revision = _run(migrations.current_revision)
    head = migrations.head_revision()
    state = "up to date" if revision == head else f"behind (newest is {head})"
    typer.echo(f"{revision or 'empty (no schema)'}: {state}")
    if revision != head:
        raise typer.Exit(1)


@app.command()
def purge() -> None:
    """Delete expired codes, refresh tokens, grants, sessions and denylist entries now.

    `serve` does the same every `janitor.interval_seconds`; this is for cron or a one-off.
    """
    janitor = Settings().janitor
    db = Database(Settings().database_url)

    async def run() -> dict[str, int]:
        try:
            async with db.unit_of_work() as stores:
                return await purge_expired(
                    stores,
                    SystemClock().now(),
                    retention_seconds=janitor.retention_seconds,
                    code_retention_seconds=janitor.code_retention_seconds,
                )
        finally:
            await db.dispose()

    for table, count in asyncio.run(run()).items():
        typer.echo(f"{table}: {count}")


@app.command(hidden=True)
def revision(
    message: Annotated[str, typer.Argument(help="What the migration does.")],
    rev_id: Annotated[str | None, typer.Option(help="Revision id (default: random).")] = None,
) -> None:
    """Developers: write a migration for the difference between models.py and head.

    Runs against a throwaway SQLite database upgraded to head, so no server is needed; the
    file lands in src/warden/storage/migrations/versions/ of a source checkout.
    """
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'schema.db'}")

        async def make() -> None:
            try:
                await migrations.upgrade(db.engine)
                await migrations.write_revision(db.engine, message, rev_id)
            finally:
                await db.dispose()

        asyncio.run(make())


def _run(action: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    db = Database(Settings().database_url)

    async def run() -> T:
        try:
            return await action(db.engine)
        finally:
            await db.dispose()

    return asyncio.run(run())
