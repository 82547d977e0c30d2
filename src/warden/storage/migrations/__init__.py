"""Schema migrations (Alembic), driven from code so an installed Warden needs no alembic.ini.

Every function takes Warden's async engine and runs Alembic on one of its connections, inside
one transaction (PostgreSQL and SQLite both have transactional DDL), so a failed upgrade
leaves the schema as it was.
"""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "current_revision",
    "downgrade",
    "head_revision",
    "is_up_to_date",
    "upgrade",
    "write_revision",
]

SCRIPT_LOCATION = "warden.storage:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # New revision files (developers only; ruff comes with the test extras) are formatted.
    hooks = {
        "hooks": "ruff_fix, ruff_format",
        "ruff_fix.type": "module",
        "ruff_fix.module": "ruff",
        "ruff_fix.options": "check --fix-only --quiet REVISION_SCRIPT_FILENAME",
        "ruff_format.type": "module",
        "ruff_format.module": "ruff",
        "ruff_format.options": "format --quiet REVISION_SCRIPT_FILENAME",
    }
    for name, value in hooks.items():
        config.set_section_option("post_write_hooks", name, value)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision this version of Warden ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for an empty (never migrated) database."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def is_up_to_date(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_command, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_command, command.downgrade, revision)


async def write_revision(engine: AsyncEngine, message: str, rev_id: str | None = None) -> None:
    """Autogenerate a revision from the models' difference to the database (developers)."""
    async with engine.begin() as conn:
        await conn.run_sync(_revision, message, rev_id)


def _revision(connection: Connection, message: str, rev_id: str | None) -> None:
    command.revision(alembic_config(connection), message, autogenerate=True, rev_id=rev_id)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _command(connection: Connection, run: Any, revision: str) -> None:
    run(alembic_config(connection), revision)
