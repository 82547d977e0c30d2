"""Token storage: keyed by issuer (and resource), None deletes, the file is owner-only."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from warden.agent.registration import ClientCredentials
from warden.agent.storage import FileTokenStorage, MemoryTokenStorage, TokenStorage
from warden.agent.tokens import TokenSet

CLIENT = ClientCredentials("dyn_1", "s3cret", "client_secret_basic", "dynamic")
TOKENS = TokenSet("at", "dyn_1", 1.0, "rt", "read")


@pytest.fixture(params=["memory", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStorage:
    if request.param == "memory":
        return MemoryTokenStorage()
    return FileTokenStorage(tmp_path / "tokens.json")


async def test_clients_are_keyed_by_issuer(storage: TokenStorage) -> None:
    await storage.set_client("https://a.test", CLIENT)
    assert await storage.get_client("https://a.test") == CLIENT
    assert await storage.get_client("https://b.test") is None
    assert await storage.get_client("https://a.test/") is None
    await storage.set_client("https://a.test", None)
    assert await storage.get_client("https://a.test") is None


async def test_tokens_are_keyed_by_issuer_and_resource(storage: TokenStorage) -> None:
    await storage.set_tokens("https://a.test", "https://rs.test/mcp", TOKENS)
    assert await storage.get_tokens("https://a.test", "https://rs.test/mcp") == TOKENS
    assert await storage.get_tokens("https://b.test", "https://rs.test/mcp") is None
    assert await storage.get_tokens("https://a.test", "https://rs.test/other") is None
    await storage.set_tokens("https://a.test", "https://rs.test/mcp", None)
    assert await storage.get_tokens("https://a.test", "https://rs.test/mcp") is None
    await storage.set_tokens("https://a.test", "https://rs.test/mcp", None)  # idempotent


async def test_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    path.chmod(0o644)
    storage = FileTokenStorage(path)
    await storage.set_client("https://a.test", CLIENT)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["tokens.json"]  # no temporary file left behind


async def test_file_survives_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    await FileTokenStorage(path).set_tokens("https://a.test", "https://rs.test/mcp", TOKENS)
    await FileTokenStorage(path).set_client("https://a.test", CLIENT)
    again = FileTokenStorage(path)
    assert await again.get_tokens("https://a.test", "https://rs.test/mcp") == TOKENS
    assert await again.get_client("https://a.test") == CLIENT
    assert json.loads(path.read_text())["clients"]["https://a.test"]["client_id"] == "dyn_1"
