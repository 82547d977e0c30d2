"""`warden clients add|list|remove|reap` against a real database, through typer's CliRunner."""

from __future__ import annotations

import asyncio
import re
import time

from typer.testing import CliRunner

from warden.cli import app
from warden.oauth.model import Client
from warden.oauth.secrets import SecretHasher
from warden.settings import Settings
from warden.storage.engine import Database
from warden.web.context import derive_key, load_master_secret

runner = CliRunner()


def _stored(settings: Settings, client_id: str) -> Client | None:
    async def read() -> Client | None:
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as stores:
                return await stores.clients.get(client_id)
        finally:
            await db.dispose()

    return asyncio.run(read())


def _add_dynamic(settings: Settings, client_id: str, created_at: float) -> None:
    async def write() -> None:
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as stores:
                await stores.clients.add(
                    Client(
                        client_id=client_id,
                        origin="dynamic",
                        kind="agent",
                        token_endpoint_auth_method="none",
                        redirect_uris=("https://app.example/cb",),
                        grant_types=("authorization_code",),
                        created_at=created_at,
                    )
                )
        finally:
            await db.dispose()

    asyncio.run(write())


def _hasher(settings: Settings) -> SecretHasher:
    return SecretHasher(derive_key(load_master_secret(settings), "secret-digest-pepper"))


def test_add_prints_the_secret_once_and_stores_its_digest(env: Settings) -> None:
    result = runner.invoke(
        app, ["clients", "add", "--name", "Backend", "--redirect-uri", "https://app.example/cb"]
    )
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client_id:\s+(\S+)", result.output)
    secret = re.search(r"client_secret:\s+(\S+)", result.output)
    assert client_id and secret
    stored = _stored(env, client_id[1])
    assert stored is not None
    assert stored.origin == "static"
    assert stored.token_endpoint_auth_method == "client_secret_basic"
    assert stored.secret_hash is not None and secret[1] not in stored.secret_hash
    assert _hasher(env).verify(secret[1], stored.secret_hash)


def test_add_a_service_with_client_credentials(env: Settings) -> None:
    result = runner.invoke(
        app,
        [
            "clients",
            "add",
            "--name",
            "Nightly job",
            "--grant-type",
            "client_credentials",
            "--kind",
            "service",
            "--scope",
            "read:calendar",
        ],
    )
    assert result.exit_code == 0, result.output
    client_id = re.search(r"client_id:\s+(\S+)", result.output)
    assert client_id
    stored = _stored(env, client_id[1])
    assert stored is not None
    assert (stored.kind, stored.grant_types, stored.scope) == (
        "service",
        ("client_credentials",),
        "read:calendar",
    )


def test_add_runs_the_metadata_checks(env: Settings) -> None:
    result = runner.invoke(
        app, ["clients", "add", "--name", "Bad", "--redirect-uri", "http://app.example/cb"]
    )
    assert result.exit_code == 1
    assert "Error: http redirect URIs are allowed only on a loopback host" in result.output


def test_list_shows_clients(env: Settings) -> None:
    assert "No clients yet" in runner.invoke(app, ["clients", "list"]).output
    runner.invoke(
        app,
        [
            "clients",
            "add",
            "--name",
            "Public app",
            "--auth-method",
            "none",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--kind",
            "app",
        ],
    )
    listing = runner.invoke(app, ["clients", "list"])
    assert listing.exit_code == 0
    fields = listing.output.strip().split("\t")
    assert fields[1:5] == ["static", "app", "none", "Public app"]
    assert fields[-1] == "never used"


def test_remove(env: Settings) -> None:
    _add_dynamic(env, "dyn_1", created_at=1_800_000_000)
    assert runner.invoke(app, ["clients", "remove", "dyn_1"]).exit_code == 0
    assert _stored(env, "dyn_1") is None
    missing = runner.invoke(app, ["clients", "remove", "dyn_1"])
    assert missing.exit_code == 1
    assert "No client dyn_1" in missing.output


def test_reap_deletes_idle_dynamic_clients(env: Settings) -> None:
    _add_dynamic(env, "dyn_idle", created_at=time.time() - env.registration.idle_reap_seconds - 60)
    _add_dynamic(env, "dyn_fresh", created_at=time.time())
    result = runner.invoke(app, ["clients", "reap"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["Reaped 1 idle dynamic client.", "dyn_idle"]
    assert _stored(env, "dyn_idle") is None
    assert _stored(env, "dyn_fresh") is not None
