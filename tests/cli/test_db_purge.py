"""`warden db purge` through typer's CliRunner, on a migrated SQLite database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warden.cli import app
from warden.oauth.model import Session
from warden.storage.engine import Database

runner = CliRunner()


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("WARDEN_DATABASE_URL", url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return url


def _in_db(url: str, *add: Session) -> set[str]:
    """Add ``add``; return the digests of the sessions the database then holds."""

    async def run() -> set[str]:
        db = Database(url)
        try:
            async with db.unit_of_work() as stores:
                for session in add:
                    await stores.sessions.add(session)
            async with db.unit_of_work() as stores:
                held = [await stores.sessions.get(h) for h in ("a" * 64, "b" * 64)]
            return {s.session_hash for s in held if s is not None}
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_purge_prints_the_counts_and_keeps_live_rows(database_url: str) -> None:
    now = time.time()
    old = Session("a" * 64, "usr_1", now - 86400, now - 86400)
    live = Session("b" * 64, "usr_1", now, now + 3600)
    assert _in_db(database_url, old, live) == {"a" * 64, "b" * 64}

    result = runner.invoke(app, ["db", "purge"])

    assert result.exit_code == 0, result.output
    assert "sessions: 1" in result.output.splitlines()
    assert "authorization_codes: 0" in result.output.splitlines()
    assert _in_db(database_url) == {"b" * 64}
    again = runner.invoke(app, ["db", "purge"])
    assert "sessions: 0" in again.output.splitlines()
