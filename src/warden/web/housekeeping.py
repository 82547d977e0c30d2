"""Background jobs that run for the life of the app: :func:`every` runs one periodically, and
:func:`purging` is the janitor (``warden.oauth.janitor``) every ``janitor.interval_seconds``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

from warden.oauth.janitor import purge_expired
from warden.web.context import AppContext

__all__ = ["every", "purge_once", "purging"]

log = logging.getLogger("warden")


@asynccontextmanager
async def every(
    seconds: float, job: Callable[[], Awaitable[object]], what: str
) -> AsyncIterator[None]:
    """Run ``job`` every ``seconds`` until the block exits; a failed run is logged and the
    next one still happens."""

    async def forever() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("%s failed; retrying next interval", what)

    task = asyncio.create_task(forever())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def purge_once(ctx: AppContext) -> dict[str, int]:
    """One pass of the janitor, in one unit of work."""
    janitor = ctx.settings.janitor
    async with ctx.db.unit_of_work() as stores:
        counts = await purge_expired(
            stores,
            ctx.clock.now(),
            retention_seconds=janitor.retention_seconds,
            code_retention_seconds=janitor.code_retention_seconds,
        )
    if any(counts.values()):
        log.info("purged expired rows: %s", counts)
    return counts


def purging(ctx: AppContext) -> AbstractAsyncContextManager[None]:
    """Purge expired rows every ``janitor.interval_seconds`` until the app stops."""
    return every(ctx.settings.janitor.interval_seconds, lambda: purge_once(ctx), "purging")
