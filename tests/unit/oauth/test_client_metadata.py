"""RFC 7591 §2 client metadata validation (SEC-42..SEC-47, SEC-29)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, OctKey
from joserfc.util import int_to_base64

from warden.errors import InvalidClientMetadataError, InvalidRedirectUriError
from warden.oauth.client_metadata import (
    ClientMetadata,
    MetadataPolicy,
    parse_client_metadata,
)
from warden.oauth.scopes import DEFAULT_CATALOGUE, ScopeCatalogue

CATALOGUE = ScopeCatalogue.from_mapping(DEFAULT_CATALOGUE)
DYNAMIC = MetadataPolicy(origin="dynamic", scopes=CATALOGUE)
STATIC = MetadataPolicy(
    origin="static",
    scopes=CATALOGUE,
    allowed_kinds=frozenset({"agent", "app", "service"}),
)
CB = "https://app.example/cb"


def _weak_rsa_public_jwk() -> dict[str, str]:
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    return {"kty": "RSA", "n": int_to_base64(numbers.n), "e": int_to_base64(numbers.e)}


def parse(policy: MetadataPolicy = DYNAMIC, **fields: Any) -> ClientMetadata:
    data: dict[str, Any] = {"redirect_uris": [CB]}
    data.update(fields)
    return parse_client_metadata({k: v for k, v in data.items() if v is not ...}, policy)


def refused(policy: MetadataPolicy = DYNAMIC, **fields: Any) -> str:
    with pytest.raises((InvalidClientMetadataError, InvalidRedirectUriError)) as info:
        parse(policy, **fields)
    return info.value.error


def test_rfc_7591_defaults() -> None:
    meta = parse()
    assert meta.token_endpoint_auth_method == "client_secret_basic"
    assert meta.grant_types == ("authorization_code",)
    assert meta.response_types == ("code",)
    assert meta.application_type == "web"
    assert meta.kind == "agent"
    assert meta.scope is None
    assert meta.to_dict() == {
        "redirect_uris": [CB],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "application_type": "web",
        "client_kind": "agent",
    }


def test_mcp_python_sdk_registration_body() -> None:
    meta = parse(
        redirect_uris=["http://localhost:3030/callback"],
        response_types=["code"],
        scope="read:calendar",
        client_name="MCP client",
        grant_types=["authorization_code", "refresh_token"],
        application_type="native",
        token_endpoint_auth_method="none",
    )
    assert meta.application_type == "native"
    assert meta.grant_types == ("authorization_code", "refresh_token")
    assert meta.scope == "read:calendar"
    assert meta.extra["client_name"] == "MCP client"


def test_unknown_fields_are_ignored_and_not_echoed() -> None:
    meta = parse(tos_uri_fr="x", client_secret="chosen", client_id="chosen", frobnicate=[1])
    assert set(meta.to_dict()) == {
        "redirect_uris",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
        "application_type",
        "client_kind",
    }


def test_not_an_object() -> None:
    with pytest.raises(InvalidClientMetadataError):
        parse_client_metadata([], DYNAMIC)  # type: ignore[arg-type]


# --- redirect URIs (SEC-42, SEC-47) -------------------------------------------------------


def test_sec_42_each_redirect_uri_is_validated() -> None:
    assert refused(redirect_uris=[CB, "http://app.example/cb"]) == "invalid_redirect_uri"


def test_sec_42_native_private_use_scheme() -> None:
    meta = parse(redirect_uris=["com.example.app:/cb"], application_type="native")
    assert meta.redirect_uris == ("com.example.app:/cb",)


def test_redirect_uris_required_for_authorization_code() -> None:
    assert refused(redirect_uris=...) == "invalid_redirect_uri"
    assert refused(redirect_uris=[]) == "invalid_redirect_uri"


def test_redirect_uris_must_be_an_array() -> None:
    assert refused(redirect_uris=CB) == "invalid_redirect_uri"
    assert refused(redirect_uris=[42]) == "invalid_redirect_uri"
    assert refused(redirect_uris=[{}]) == "invalid_redirect_uri"
    assert refused(redirect_uris=[["https://app.example/cb"]]) == "invalid_redirect_uri"


def test_sec_47_redirect_uri_count_is_capped() -> None:
    uris = [f"https://app.example/cb{i}" for i in range(11)]
    assert refused(redirect_uris=uris) == "invalid_client_metadata"
    assert len(parse(redirect_uris=uris[:10]).redirect_uris) == 10


def test_duplicate_redirect_uris_are_registered_once() -> None:
    assert parse(redirect_uris=[CB, CB]).redirect_uris == (CB,)


# --- methods, grants, response types (SEC-45, SEC-29) -------------------------------------


@pytest.mark.parametrize(
    "method", ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
)
def test_sec_45_allowed_auth_methods(method: str) -> None:
    jwks = {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]}
    meta = parse(token_endpoint_auth_method=method, jwks=jwks)
    assert meta.token_endpoint_auth_method == method


@pytest.mark.parametrize("method", ["client_secret_jwt", "tls_client_auth", "NONE", "", 1])
def test_sec_45_other_auth_methods_refused(method: Any) -> None:
    assert refused(token_endpoint_auth_method=method) == "invalid_client_metadata"


@pytest.mark.parametrize(
    "grant_types",
    [["password"], ["implicit"], ["authorization_code", "password"], [], "authorization_code"],
)
def test_sec_45_grant_types_allow_list(grant_types: Any) -> None:
    assert refused(grant_types=grant_types) == "invalid_client_metadata"


@pytest.mark.parametrize("response_types", [["token"], ["code", "id_token"], ["code token"]])
def test_sec_45_response_types_only_code(response_types: list[str]) -> None:
    assert refused(response_types=response_types) == "invalid_client_metadata"


def test_sec_45_grant_and_response_types_must_agree() -> None:
    assert refused(grant_types=["refresh_token"]) == "invalid_client_metadata"
    assert (
        refused(grant_types=["client_credentials"], response_types=["code"])
        == "invalid_client_metadata"
    )
    assert refused(response_types=[]) == "invalid_client_metadata"


def test_device_and_exchange_grants() -> None:
    meta = parse(
        redirect_uris=...,
        token_endpoint_auth_method="none",
        grant_types=["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
    )
    assert meta.response_types == ()
    assert meta.redirect_uris == ()
    meta = parse(grant_types=["urn:ietf:params:oauth:grant-type:token-exchange"], redirect_uris=...)
    assert meta.grant_types == ("urn:ietf:params:oauth:grant-type:token-exchange",)


def test_sec_29_client_credentials_only_for_confidential_clients() -> None:
    assert (
        refused(grant_types=["client_credentials"], token_endpoint_auth_method="none")
        == "invalid_client_metadata"
    )
    meta = parse(grant_types=["client_credentials"], redirect_uris=...)
    assert meta.grant_types == ("client_credentials",)
    assert meta.response_types == ()


@pytest.mark.parametrize("value", ["browser", "Native", 1])
def test_application_type_web_or_native(value: Any) -> None:
    assert refused(application_type=value) == "invalid_client_metadata"


# --- scope (SEC-46) -----------------------------------------------------------------------


def test_sec_46_admin_scope_refused_for_self_registered_clients() -> None:
    assert refused(scope="read:calendar admin") == "invalid_client_metadata"


def test_sec_46_admin_scope_allowed_for_a_static_app() -> None:
    assert parse(STATIC, scope="admin", client_kind="app").scope == "admin"


def test_sec_46_unknown_or_malformed_scope_refused() -> None:
    assert refused(scope="bogus") == "invalid_client_metadata"
    assert refused(scope="read:calendar  offline_access") == "invalid_client_metadata"
    assert refused(scope=["read:calendar"]) == "invalid_client_metadata"


def test_scope_is_normalised_and_defaulted() -> None:
    assert parse(scope="read:calendar offline_access").scope == "offline_access read:calendar"
    policy = MetadataPolicy(origin="dynamic", scopes=CATALOGUE, default_scope="read:calendar")
    assert parse(policy).scope == "read:calendar"


# --- client_name and display URLs (SEC-43) ------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Evil\u202egnp.exe", "Zero\u200bwidth", "Line\nbreak", "Tab\there", "", "   ", "x" * 101, 7],
)
def test_sec_43_client_name_refused(name: Any) -> None:
    assert refused(client_name=name) == "invalid_client_metadata"


def test_sec_43_client_name_unicode_is_fine() -> None:
    assert parse(client_name="Agent Ünïcødé 日本").extra["client_name"] == "Agent Ünïcødé 日本"


def test_sec_43_display_urls_on_the_redirect_host_are_kept() -> None:
    meta = parse(
        logo_uri="https://app.example/logo.png",
        client_uri="https://app.example/",
        policy_uri="https://app.example/privacy",
        tos_uri="https://app.example/tos",
    )
    assert meta.extra["logo_uri"] == "https://app.example/logo.png"
    assert {"client_uri", "policy_uri", "tos_uri"} <= set(meta.extra)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/logo.png",
        "http://app.example/logo.png",
        "https://app.example.evil.test/logo.png",
        "https://u@app.example/logo.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        42,
    ],
)
def test_sec_43_other_display_urls_are_dropped(url: Any) -> None:
    meta = parse(logo_uri=url)
    assert "logo_uri" not in meta.extra
    assert "logo_uri" not in meta.to_dict()


def test_display_hosts_extend_the_allowed_hosts() -> None:
    policy = MetadataPolicy(
        origin="cimd", scopes=CATALOGUE, display_hosts=frozenset({"client.example"})
    )
    meta = parse(policy, logo_uri="https://client.example/logo.png")
    assert meta.extra["logo_uri"] == "https://client.example/logo.png"


# --- informational fields -----------------------------------------------------------------


def test_informational_fields_kept() -> None:
    meta = parse(contacts=["ops@app.example"], software_id="abc-123", software_version="1.2")
    assert meta.extra["contacts"] == ["ops@app.example"]
    assert meta.extra["software_id"] == "abc-123"
    assert meta.extra["software_version"] == "1.2"


@pytest.mark.parametrize(
    "fields",
    [
        {"contacts": "ops@app.example"},
        {"contacts": ["a"] * 11},
        {"contacts": ["x\u202e"]},
        {"software_id": 5},
        {"software_id": ""},
        {"software_version": "v" * 256},
    ],
)
def test_informational_fields_typed(fields: dict[str, Any]) -> None:
    assert refused(**fields) == "invalid_client_metadata"


# --- client_kind --------------------------------------------------------------------------


def test_self_registered_clients_are_agents() -> None:
    assert parse(client_kind="agent").kind == "agent"
    assert refused(client_kind="app") == "invalid_client_metadata"
    assert refused(client_kind="service") == "invalid_client_metadata"
    assert refused(client_kind="robot") == "invalid_client_metadata"


def test_pre_registered_clients_choose_their_kind() -> None:
    assert parse(STATIC, client_kind="service").kind == "service"
    assert parse(STATIC).kind == "agent"


# --- keys ---------------------------------------------------------------------------------


def test_jwks_public_keys_accepted() -> None:
    ec = ECKey.generate_key("P-256").as_dict(private=False)
    meta = parse(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [ec]})
    assert meta.extra["jwks"] == {"keys": [ec]}


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": []},
        {"keys": "x"},
        [],
        {"keys": [{"kty": "EC"}]},
        {"keys": [OctKey.generate_key(256).as_dict()]},
        {"keys": [ECKey.generate_key("P-256").as_dict(private=True)]},
        {"keys": [_weak_rsa_public_jwk()]},
    ],
)
def test_jwks_must_be_public_asymmetric_keys(jwks: Any) -> None:
    assert refused(token_endpoint_auth_method="private_key_jwt", jwks=jwks) == (
        "invalid_client_metadata"
    )


def test_private_key_jwt_needs_keys() -> None:
    assert refused(token_endpoint_auth_method="private_key_jwt") == "invalid_client_metadata"


def test_jwks_and_jwks_uri_are_exclusive() -> None:
    ec = ECKey.generate_key("P-256").as_dict(private=False)
    assert (
        refused(jwks={"keys": [ec]}, jwks_uri="https://app.example/jwks.json")
        == "invalid_client_metadata"
    )


def test_jwks_uri_refused_without_a_shape_check() -> None:
    assert refused(jwks_uri="https://app.example/jwks.json") == "invalid_client_metadata"


def test_jwks_uri_goes_through_the_shape_check() -> None:
    seen: list[str] = []

    def check(url: str) -> None:
        seen.append(url)
        if "10.0.0.5" in url:
            raise ValueError("the URL host must be a DNS name, not an IP address")

    policy = MetadataPolicy(origin="dynamic", scopes=CATALOGUE, check_jwks_uri=check)
    meta = parse(policy, jwks_uri="https://app.example/jwks.json")
    assert meta.extra["jwks_uri"] == "https://app.example/jwks.json"
    assert refused(policy, jwks_uri="https://10.0.0.5/jwks.json") == "invalid_client_metadata"
    assert seen == ["https://app.example/jwks.json", "https://10.0.0.5/jwks.json"]
