"""The environment the CLI commands read, on a freshly created test database."""

from __future__ import annotations

import asyncio

import pytest

from warden.settings import Settings
from warden.storage.engine import Database


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``WARDEN_*`` variables for the commands, on the database ``make_app`` uses too."""
    monkeypatch.setenv("WARDEN_DATABASE_URL", database_url)
    monkeypatch.setenv("WARDEN_SECRET_KEY", "cli-test-secret-" + "x" * 32)
    monkeypatch.setenv("WARDEN_ISSUER", "https://warden.test")
    monkeypatch.delenv("WARDEN_RESOURCE_POLICY", raising=False)
    # Cheap argon2id parameters: these tests are about the commands, not the hash cost.
    monkeypatch.setenv("WARDEN_LOGIN__ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("WARDEN_LOGIN__ARGON2_TIME_COST", "1")

    async def create() -> None:
        db = Database(database_url)
        await db.create_all()
        await db.dispose()

    asyncio.run(create())
    return Settings()
