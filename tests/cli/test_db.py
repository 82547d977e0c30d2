"""`warden db upgrade|current` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from warden.cli import app
from warden.storage import migrations

runner = CliRunner()


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDEN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")


def test_current_on_an_empty_database_says_so_and_fails() -> None:
    result = runner.invoke(app, ["db", "current"])
    assert result.exit_code == 1
    assert "empty (no schema)" in result.output


def test_upgrade_then_current() -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"→ {migrations.head_revision()}" in result.output

    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0
    assert "Already at" in again.output

    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 0
    assert current.output.strip() == f"{migrations.head_revision()}: up to date"
