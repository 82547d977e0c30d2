"""`warden keys rotate|list|retire` through typer's CliRunner, against a real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from warden.cli import app
from warden.oauth.model import StoredKey
from warden.storage.engine import Database

# The app fixtures' secret: on PostgreSQL all tests share one database, and keys left under
# another secret would stop the next app from starting.
SECRET = "test-secret-" + "x" * 40


def delete_signing_keys(database_url: str) -> None:
    async def delete() -> None:
        db = Database(database_url)
        await db.create_all()
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM signing_keys"))
        await db.dispose()

    asyncio.run(delete())


@pytest.fixture
def env(database_url: str) -> Iterator[dict[str, str]]:
    delete_signing_keys(database_url)
    yield {
        "WARDEN_DATABASE_URL": database_url,
        "WARDEN_SECRET_KEY": SECRET,
        "WARDEN_ISSUER": "https://warden.test",
    }
    delete_signing_keys(database_url)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def stored_keys(database_url: str) -> list[StoredKey]:
    async def read() -> list[StoredKey]:
        db = Database(database_url)
        try:
            async with db.unit_of_work() as stores:
                return list(await stores.keys.list())
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_list_on_a_fresh_database(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["keys", "list"], env=env)
    assert result.exit_code == 0
    assert "No signing keys yet" in result.output


def test_rotate_then_list(runner: CliRunner, env: dict[str, str], database_url: str) -> None:
    first = runner.invoke(app, ["keys", "rotate"], env=env)
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["keys", "rotate", "--alg", "EdDSA"], env=env)
    assert second.exit_code == 0, second.output

    old, new = stored_keys(database_url)
    assert (old.alg, old.state) == ("ES256", "published")
    assert (new.alg, new.state) == ("EdDSA", "active")
    assert new.kid in second.output

    listing = runner.invoke(app, ["keys", "list"], env={**env, "COLUMNS": "200"})
    assert listing.exit_code == 0, listing.output
    for header in ("kid", "alg", "state", "created"):
        assert header in listing.output
    assert old.kid in listing.output
    assert new.kid in listing.output
    assert "published" in listing.output
    assert "active" in listing.output


def test_rotate_refuses_an_unknown_alg(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["keys", "rotate", "--alg", "HS256"], env=env)
    assert result.exit_code == 2


def test_sec_110_retire_waits_for_tokens_to_expire_unless_forced(
    runner: CliRunner, env: dict[str, str], database_url: str
) -> None:
    runner.invoke(app, ["keys", "rotate"], env=env)
    runner.invoke(app, ["keys", "rotate"], env=env)
    old, _ = stored_keys(database_url)

    early = runner.invoke(app, ["keys", "retire", old.kid], env=env)
    assert early.exit_code == 1
    assert "may still have live tokens" in early.output

    forced = runner.invoke(app, ["keys", "retire", old.kid, "--force"], env=env)
    assert forced.exit_code == 0, forced.output
    assert [k.state for k in stored_keys(database_url)] == ["retired", "active"]


def test_retire_refuses_the_active_key(
    runner: CliRunner, env: dict[str, str], database_url: str
) -> None:
    runner.invoke(app, ["keys", "rotate"], env=env)
    [active] = stored_keys(database_url)
    result = runner.invoke(app, ["keys", "retire", active.kid, "--force"], env=env)
    assert result.exit_code == 1
    assert "active key" in result.output


def test_retire_an_unknown_kid(runner: CliRunner, env: dict[str, str]) -> None:
    result = runner.invoke(app, ["keys", "retire", "no-such-kid"], env=env)
    assert result.exit_code == 1
    assert "no signing key" in result.output


def test_a_different_secret_cannot_use_the_keys(runner: CliRunner, env: dict[str, str]) -> None:
    runner.invoke(app, ["keys", "rotate"], env=env)
    other = {**env, "WARDEN_SECRET_KEY": "some-other-secret-" + "q" * 40}
    result = runner.invoke(app, ["keys", "rotate"], env=other)
    assert result.exit_code == 1
    assert "WARDEN_SECRET_KEY" in result.output


def test_sec_110_private_key_is_stored_encrypted(
    runner: CliRunner, env: dict[str, str], database_url: str
) -> None:
    from warden.tokens.encryption import KeyCipher
    from warden.web.context import fernet_key

    runner.invoke(app, ["keys", "rotate"], env=env)
    [key] = stored_keys(database_url)
    cipher = KeyCipher(fernet_key(SECRET.encode(), "signing-keys"))
    private_d = cipher.decrypt(key.encrypted_private_jwk)["d"]

    async def raw_row() -> str:
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                row = (await conn.execute(text("SELECT * FROM signing_keys"))).mappings().one()
        finally:
            await db.dispose()
        return json.dumps({k: str(v) for k, v in row.items()})

    assert private_d not in asyncio.run(raw_row())
