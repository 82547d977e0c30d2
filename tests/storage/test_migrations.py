"""The migrations build exactly the schema models.py describes, on SQLite and PostgreSQL.

This is the guard for model changes: a column added to models.py without a migration makes
``compare_metadata`` report it here (regenerate with ``warden db revision``).
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from warden.storage import migrations
from warden.storage.engine import Database
from warden.storage.models import Base


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _diff(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_differences)


async def test_upgrade_head_yields_exactly_the_models_schema(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        assert await migrations.current_revision(db.engine) is None
        await migrations.upgrade(db.engine)
        assert await _diff(db) == []
        assert await migrations.current_revision(db.engine) == migrations.head_revision()
        assert await migrations.is_up_to_date(db.engine)
    finally:
        await db.dispose()


async def test_downgrade_base_then_upgrade_head(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        await migrations.upgrade(db.engine)
        await migrations.downgrade(db.engine, "base")
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        assert await migrations.current_revision(db.engine) is None
        await migrations.upgrade(db.engine)
        assert await _diff(db) == []
    finally:
        await db.dispose()


async def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        await migrations.upgrade(db.engine)
        await migrations.upgrade(db.engine)
        assert await migrations.is_up_to_date(db.engine)
    finally:
        await db.dispose()


def test_there_is_one_head() -> None:
    """Two heads would mean two migrations written in parallel and never merged."""
    assert migrations.head_revision() is not None
