"""What the command groups share: one unit of work per command, errors, timestamps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import NoReturn, TypeVar

import typer

from warden.oauth.ports import Stores
from warden.settings import Settings
from warden.storage.engine import Database

__all__ = ["fail", "run_with_stores", "when"]

T = TypeVar("T")


def run_with_stores(settings: Settings, work: Callable[[Stores], Awaitable[T]]) -> T:
    """Run ``work`` in one unit of work against the configured database."""

    async def main() -> T:
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as stores:
                return await work(stores)
        finally:
            await db.dispose()

    return asyncio.run(main())


def fail(message: str) -> NoReturn:
    """Print ``message`` to standard error and exit with status 1."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def when(at: float) -> str:
    """A timestamp for people, in UTC."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
