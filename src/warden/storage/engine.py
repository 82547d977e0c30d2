"""The async engine and the per-request unit of work.

A unit of work commits when the block ends normally *or* raises an :class:`OAuthError`:
protocol errors are expected outcomes whose writes are intentional (a replayed code revokes
its grant, then the request fails with ``invalid_grant``). Any other exception rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from warden.errors import OAuthError
from warden.storage.repositories import SqlStores

__all__ = ["Database"]


class Database:
    """Owns the engine; hands out units of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _serialise_sqlite_writers(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[SqlStores]:
        async with self._sessions() as session:
            try:
                yield SqlStores(session)
            except OAuthError:
                await session.commit()
                raise
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def create_all(self) -> None:
        """Create the tables directly (tests); deployments use ``warden db upgrade``."""
        from warden.storage.models import Base

        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    """Start every SQLite transaction with BEGIN IMMEDIATE.

    SQLite upgrades a read lock to a write lock lazily, and two transactions that both read
    then write fail at once with "database is locked" instead of waiting. Taking the write
    lock up front makes them queue on the busy timeout, so compare-and-set stays atomic
    (SEC-20) and concurrent requests never see a 500.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
