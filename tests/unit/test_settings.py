"""Settings: the issuer rules and the master secret (SEC-113, RFC 8414 §2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from warden.errors import ConfigurationError
from warden.settings import Settings
from warden.web.context import load_master_secret


@pytest.mark.parametrize(
    "issuer",
    [
        "http://as.example",  # plain http off loopback
        "http://10.0.0.1:8000",
        "https://as.example/",  # trailing slash: clients compare byte for byte
        "https://as.example?tenant=1",
        "https://as.example#x",
        "as.example",
        "ftp://as.example",
    ],
)
def test_sec_113_issuer_must_be_https_or_loopback_http(issuer: str) -> None:
    with pytest.raises(ValidationError):
        Settings(issuer=issuer)


@pytest.mark.parametrize(
    "issuer", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"]
)
def test_sec_113_loopback_http_issuer_is_development(issuer: str) -> None:
    settings = Settings(issuer=issuer)
    assert settings.is_development
    assert any("plain http" in line for line in settings.insecure_warnings())


def test_https_issuer_with_a_path_mounts_endpoints_under_it() -> None:
    settings = Settings(issuer="https://as.example/t1", secret_key="k" * 40)
    assert settings.issuer_path == "/t1"
    assert settings.endpoint("/token") == "https://as.example/t1/token"
    assert not settings.is_development


def test_sec_113_production_issuer_needs_a_master_secret(tmp_path: Path) -> None:
    settings = Settings(issuer="https://as.example", secret_key_file=tmp_path / "secret")
    with pytest.raises(ConfigurationError):
        load_master_secret(settings)
    assert not (tmp_path / "secret").exists()


def test_short_master_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        load_master_secret(Settings(issuer="https://as.example", secret_key="short"))


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(secret_key_file=tmp_path / "secret")
    first = load_master_secret(settings)
    assert load_master_secret(settings) == first
    assert (tmp_path / "secret").stat().st_mode & 0o077 == 0
