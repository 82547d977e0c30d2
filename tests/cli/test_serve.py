"""`warden serve`: one-time preparation, and a real uvicorn with two workers."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from warden.cli.serve import SchemaOutdatedError, prepare
from warden.settings import Settings
from warden.storage import migrations
from warden.storage.engine import Database


def _settings(tmp_path: Path, database_url: str | None = None) -> Settings:
    return Settings(
        issuer="http://127.0.0.1:8000",
        database_url=database_url or f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        secret_key_file=tmp_path / "warden.secret",
    )


async def _key_count(url: str) -> int:
    db = Database(url)
    try:
        async with db.unit_of_work() as stores:
            return len(await stores.keys.list())
    finally:
        await db.dispose()


async def test_prepare_upgrades_sqlite_and_creates_secret_and_one_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    await prepare(settings, migrate=None, workers=1)
    await prepare(settings, migrate=None, workers=1)  # a restart changes nothing
    db = Database(settings.database_url)
    try:
        assert await migrations.is_up_to_date(db.engine)
    finally:
        await db.dispose()
    assert (tmp_path / "warden.secret").stat().st_mode & 0o777 == 0o600
    assert await _key_count(settings.database_url) == 1


@pytest.mark.postgres
async def test_prepare_refuses_an_outdated_server_database(tmp_path: Path) -> None:
    """A shared PostgreSQL schema is a deployment step: no silent upgrade."""
    url = await _new_pg_database()
    try:
        with pytest.raises(SchemaOutdatedError, match="warden db upgrade"):
            await prepare(_settings(tmp_path, url), migrate=None, workers=1)
        await prepare(_settings(tmp_path, url), migrate=True, workers=1)
        assert await _key_count(url) == 1
    finally:
        await _drop_pg_database(url)


async def test_sqlite_upgrade_can_be_declined(tmp_path: Path) -> None:
    with pytest.raises(SchemaOutdatedError):
        await prepare(_settings(tmp_path), migrate=False, workers=1)


# --- a real server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = _free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}"
    env = {
        **os.environ,
        "WARDEN_ISSUER": f"http://127.0.0.1:{port}",
        "WARDEN_DATABASE_URL": url,
        "WARDEN_SECRET_KEY_FILE": str(tmp_path / "warden.secret"),
    }
    warden = Path(sys.executable).parent / "warden"
    proc = subprocess.Popen(
        [str(warden), "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_serving(base, proc)
        yield base, url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        assert proc.stderr is not None
        proc.stderr.close()


def _wait_until_serving(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise AssertionError(proc.stderr.read().decode())
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("warden serve did not answer /healthz within 30 s")


def test_serve_with_two_workers_makes_one_key(server: tuple[str, str]) -> None:
    base, url = server
    metadata = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == base
    assert "server" not in httpx.get(f"{base}/healthz").headers
    assert asyncio.run(_key_count(url)) == 1


# --- PostgreSQL helpers --------------------------------------------------------------------

PG_ADMIN_DSN = os.environ.get("WARDEN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _new_pg_database() -> str:
    name = f"warden_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
