"""RFC 8414 metadata and OIDC discovery, built from settings alone."""

from __future__ import annotations

from pathlib import Path

from warden.oauth.metadata import authorization_server_metadata, openid_configuration
from warden.oauth.scopes import ScopeCatalogue
from warden.settings import Settings

ALL_METHODS = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
ASSERTION_ALGS = ["ES256", "EdDSA", "RS256", "PS256"]

EXPECTED = {
    "issuer": "https://warden.test",
    "authorization_endpoint": "https://warden.test/authorize",
    "token_endpoint": "https://warden.test/token",
    "jwks_uri": "https://warden.test/jwks.json",
    "device_authorization_endpoint": "https://warden.test/device_authorization",
    "registration_endpoint": "https://warden.test/register",
    "scopes_supported": [
        "account:connections",
        "admin",
        "offline_access",
        "read:calendar",
        "read:calendar:next-7-days",
        "write:email:draft-only-no-send",
        "write:email:send",
    ],
    "response_types_supported": ["code"],
    "response_modes_supported": ["query"],
    "grant_types_supported": [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ],
    "token_endpoint_auth_methods_supported": ALL_METHODS,
    "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
    "revocation_endpoint": "https://warden.test/revoke",
    "revocation_endpoint_auth_methods_supported": ALL_METHODS,
    "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
    "introspection_endpoint": "https://warden.test/introspect",
    "introspection_endpoint_auth_methods_supported": ALL_METHODS[1:],
    "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
    "code_challenge_methods_supported": ["S256"],
    "authorization_response_iss_parameter_supported": True,
    "client_id_metadata_document_supported": True,
}


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(issuer="https://warden.test", secret_key_file=tmp_path / "s", **overrides)


def test_sec_118_metadata_snapshot(tmp_path: Path) -> None:
    doc = authorization_server_metadata(_settings(tmp_path), ScopeCatalogue.load(None))
    assert doc == EXPECTED


def test_sec_118_no_legacy_grants_or_plain_pkce(tmp_path: Path) -> None:
    doc = authorization_server_metadata(_settings(tmp_path), ScopeCatalogue.load(None))
    assert "password" not in doc["grant_types_supported"]
    assert "implicit" not in doc["grant_types_supported"]
    assert "token" not in doc["response_types_supported"]
    assert doc["code_challenge_methods_supported"] == ["S256"]


def test_registration_endpoint_only_while_registration_is_open(tmp_path: Path) -> None:
    settings = _settings(tmp_path, registration={"enabled": False})
    doc = authorization_server_metadata(settings, ScopeCatalogue.load(None))
    assert "registration_endpoint" not in doc


def test_sec_118_cimd_flag_follows_the_setting(tmp_path: Path) -> None:
    settings = _settings(tmp_path, cimd={"enabled": False})
    doc = authorization_server_metadata(settings, ScopeCatalogue.load(None))
    assert doc["client_id_metadata_document_supported"] is False


def test_path_issuer_endpoints_keep_the_path(tmp_path: Path) -> None:
    settings = Settings(issuer="https://warden.test/t1", secret_key_file=tmp_path / "s")
    doc = authorization_server_metadata(settings, ScopeCatalogue.load(None))
    assert doc["issuer"] == "https://warden.test/t1"
    assert doc["token_endpoint"] == "https://warden.test/t1/token"
    assert doc["jwks_uri"] == "https://warden.test/t1/jwks.json"


def test_scopes_come_from_the_catalogue(tmp_path: Path) -> None:
    catalogue = ScopeCatalogue.from_mapping({"files:read": {"description": "Read files"}})
    doc = authorization_server_metadata(_settings(tmp_path), catalogue)
    assert doc["scopes_supported"] == ["files:read"]


def test_openid_configuration_adds_the_oidc_required_fields(tmp_path: Path) -> None:
    doc = openid_configuration(_settings(tmp_path), ScopeCatalogue.load(None))
    assert doc == {
        **EXPECTED,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "EdDSA"],
    }
