"""Shared fixtures: settings, the real ASGI app over httpx, and a database per test run.

``WARDEN_TEST_DATABASE=postgres`` runs every app-level test on a fresh PostgreSQL database
(created as ``warden_test_<random>`` and dropped afterwards); the default is a SQLite file.
Storage contract tests run on both backends regardless.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from warden.clock import FrozenClock
from warden.settings import Settings
from warden.web.app import create_app
from warden.web.context import AppContext, build_context

ISSUER = "https://warden.test"
PG_ADMIN_DSN = os.environ.get("WARDEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin_dsn() -> str:
    return PG_ADMIN_DSN


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    import asyncio

    import asyncpg

    name = f"warden_test_{secrets.token_hex(6)}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(_pg_admin_dsn())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base = _pg_admin_dsn().rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if os.environ.get("WARDEN_TEST_DATABASE") == "postgres":
        base: str = request.getfixturevalue("postgres_url")
        return base
    return f"sqlite+aiosqlite:///{tmp_path / 'warden.db'}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> SettingsFactory:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "issuer": ISSUER,
            "database_url": database_url,
            "secret_key": "test-secret-" + "x" * 40,
            "secret_key_file": tmp_path / "warden.secret",
            # A cheap argon2id cost: tests check the rules, not the hash's strength.
            "login": {"argon2_memory_kib": 1024, "argon2_time_cost": 1},
        }
        values.update(overrides)
        return Settings(**values)

    return factory


async def _empty_tables(ctx: AppContext) -> None:
    """A PostgreSQL run shares one database: every app starts from empty tables."""
    from sqlalchemy import text

    from warden.storage.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with ctx.db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


AppFactory = Callable[..., Awaitable[tuple[Starlette, AppContext]]]


@pytest.fixture
async def make_app(make_settings: SettingsFactory, clock: FrozenClock) -> AsyncIterator[AppFactory]:
    """Build an app with settings overrides; its lifespan runs and its tables exist."""
    stack: list[Any] = []

    async def factory(**overrides: Any) -> tuple[Starlette, AppContext]:
        ctx = build_context(make_settings(**overrides), clock=clock)
        await ctx.db.create_all()
        if not ctx.db.is_sqlite:
            await _empty_tables(ctx)
        app = create_app(context=ctx)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        stack.append(lifespan)
        return app, ctx

    yield factory
    for lifespan in reversed(stack):
        await lifespan.__aexit__(None, None, None)


@pytest.fixture
async def app_ctx(make_app: AppFactory) -> tuple[Starlette, AppContext]:
    return await make_app()


@pytest.fixture
def app(app_ctx: tuple[Starlette, AppContext]) -> Starlette:
    return app_ctx[0]


@pytest.fixture
def ctx(app_ctx: tuple[Starlette, AppContext]) -> AppContext:
    return app_ctx[1]


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as c:
        yield c
