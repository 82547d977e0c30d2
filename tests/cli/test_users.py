"""`warden users add|list|remove` against a real database, through typer's CliRunner."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from warden.cli import app
from warden.settings import Settings
from warden.storage.engine import Database

runner = CliRunner()


def _stored_hash(settings: Settings, username: str) -> str | None:
    async def read() -> str | None:
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as stores:
                user = await stores.users.get_by_username(username)
                return user.password_hash if user else None
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_add_with_password_stdin_then_list(env: Settings) -> None:
    result = runner.invoke(app, ["users", "add", "Alice", "--password-stdin"], input="s3cret\n")
    assert result.exit_code == 0, result.output
    assert "Added alice (usr_" in result.output

    listing = runner.invoke(app, ["users", "list"])
    assert listing.exit_code == 0
    assert listing.output.startswith("alice\tusr_")


def test_sec_112_password_is_stored_as_argon2id(env: Settings) -> None:
    runner.invoke(app, ["users", "add", "alice", "--password-stdin"], input="s3cret\n")
    stored = _stored_hash(env, "alice")
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert "s3cret" not in stored


def test_add_prompts_twice_hidden(env: Settings) -> None:
    result = runner.invoke(app, ["users", "add", "bob"], input="pw-one\npw-one\n")
    assert result.exit_code == 0, result.output
    assert "Added bob" in result.output
    assert "pw-one" not in result.output


def test_add_refuses_mismatched_confirmation(env: Settings) -> None:
    result = runner.invoke(app, ["users", "add", "bob"], input="one\ntwo\none\none\n")
    assert result.exit_code == 0
    assert "do not match" in result.output


def test_add_refuses_duplicates_and_bad_names(env: Settings) -> None:
    runner.invoke(app, ["users", "add", "alice", "--password-stdin"], input="pw\n")
    again = runner.invoke(app, ["users", "add", "ALICE", "--password-stdin"], input="pw\n")
    assert again.exit_code == 1
    assert "already exists" in again.output
    bad = runner.invoke(app, ["users", "add", "al ice", "--password-stdin"], input="pw\n")
    assert bad.exit_code == 1
    empty = runner.invoke(app, ["users", "add", "carol", "--password-stdin"], input="\n")
    assert empty.exit_code == 1


def test_remove(env: Settings) -> None:
    runner.invoke(app, ["users", "add", "alice", "--password-stdin"], input="pw\n")
    result = runner.invoke(app, ["users", "remove", "alice"])
    assert result.exit_code == 0, result.output
    assert _stored_hash(env, "alice") is None
    assert runner.invoke(app, ["users", "remove", "alice"]).exit_code == 1
    assert "No users yet" in runner.invoke(app, ["users", "list"]).output
