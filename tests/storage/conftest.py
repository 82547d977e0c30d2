"""Storage fixtures: the same tests run on SQLite and on PostgreSQL (never skipped).

``stores_db`` is a :class:`Database` with Warden's tables, emptied before each test; on
PostgreSQL it lives in the run's ``postgres_url`` database. ``empty_database_url`` is a
database with no tables at all, created for the one test (migrations).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from warden.storage.engine import Database
from warden.storage.models import Base

PG_ADMIN_DSN = os.environ.get("WARDEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def stores_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Resolved outside the event loop: ``postgres_url`` creates its database synchronously."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'stores.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def stores_db(stores_url: str) -> AsyncIterator[Database]:
    db = Database(stores_url)
    try:
        await db.create_all()
        await _empty_tables(db)
        yield db
    finally:
        await db.dispose()


async def _empty_tables(db: Database) -> None:
    async with db.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(text(f'DELETE FROM "{table.name}"'))


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"warden_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
