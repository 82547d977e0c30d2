"""Warden's one settings object.

Built once at the edge (``warden.cli`` or :func:`warden.web.app.create_app`) and passed down;
components take only the sub-model they read. Values come from, in order of precedence:
keyword arguments, ``WARDEN_*`` environment variables (nested with ``__``, for example
``WARDEN_TOKENS__ACCESS_TOKEN_TTL_SECONDS``), and an optional TOML file named by
``WARDEN_CONFIG_FILE``.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = [
    "CimdSettings",
    "DeviceSettings",
    "ExchangeSettings",
    "JanitorSettings",
    "LoginSettings",
    "RegistrationSettings",
    "Settings",
    "TokenSettings",
    "is_loopback_host",
]

_LOOPBACK_NAMES = {"localhost"}


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (RFC 8252 §7.3, RFC 6761 §6.3)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TokenSettings(BaseModel):
    """Lifetimes of codes and tokens (RFC 9068, OAuth 2.1 §4.1.2, §4.3)."""

    access_token_ttl_seconds: int = Field(600, ge=30, le=3600, description="JWT access tokens.")
    code_ttl_seconds: int = Field(60, ge=5, le=600, description="Authorization codes.")
    refresh_token_ttl_seconds: int = Field(
        30 * 86400, ge=60, description="Absolute lifetime of a refresh-token family."
    )
    refresh_token_idle_seconds: int = Field(
        14 * 86400, ge=60, description="A refresh token unused this long expires."
    )
    signing_alg: Literal["ES256", "EdDSA"] = Field(
        "ES256", description="Algorithm of keys made by `warden keys rotate` and first start."
    )
    client_credentials_ttl_seconds: int = Field(
        600, ge=30, le=3600, description="Tokens of agents acting as themselves."
    )
    default_audience: str | None = Field(
        None,
        description="The `aud` of a token requested without `resource` (RFC 8707). Unset, "
        "such a token's audience is the client's own client_id, which no resource server "
        "accepts as its own: never an empty or wildcard audience (SEC-36).",
    )
    refresh_token_reuse_grace_seconds: int = Field(
        2,
        ge=0,
        le=60,
        description="A rotated-out refresh token presented again this soon (a client "
        "racing itself) is refused without revoking its family; later reuse revokes it.",
    )
    client_auth_failures_per_minute: int = Field(
        20,
        ge=1,
        description="Failed client authentications per client_id and IP before 429 (SEC-116).",
    )
    key_refresh_seconds: int = Field(
        30,
        ge=1,
        le=3600,
        description="How often each worker re-reads the signing keys, so that "
        "`warden keys rotate` and `retire` in another process reach it.",
    )


class RegistrationSettings(BaseModel):
    """Dynamic Client Registration (RFC 7591/7592) and its hygiene."""

    enabled: bool = Field(True, description="Open the registration endpoint.")
    initial_access_token: SecretStr | None = Field(
        None, description="If set, POST /register needs `Authorization: Bearer <this>`."
    )
    per_source_per_hour: int = Field(30, ge=1, description="Registrations per source IP/hour.")
    max_clients: int = Field(10_000, ge=1, description="Total dynamic clients allowed at once.")
    idle_reap_seconds: int = Field(
        30 * 86400, ge=60, description="Dynamic clients unused this long are deleted."
    )
    reap_interval_seconds: int = Field(3600, ge=10, description="How often `serve` reaps.")
    max_redirect_uris: int = Field(10, ge=1, le=100)
    max_body_bytes: int = Field(16_384, ge=1024)
    default_scope: str = Field(
        "", description="Scopes a self-registered client gets when it asks for none."
    )
    trusted_software_statement_issuers: dict[str, str] = Field(
        default_factory=dict,
        description="Issuer → JWKS (JSON text or file path) trusted for software statements.",
    )
    require_software_statement: bool = False


class CimdSettings(BaseModel):
    """Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document)."""

    enabled: bool = True
    allow_loopback: bool = Field(
        False, description="Development only: fetch documents from loopback addresses."
    )
    connect_timeout_seconds: float = 2.0
    total_timeout_seconds: float = 5.0
    max_document_bytes: int = 5 * 1024
    min_cache_seconds: int = 300
    max_cache_seconds: int = 86_400
    fetches_per_host_per_minute: int = 30


class DeviceSettings(BaseModel):
    """Device Authorization Grant (RFC 8628) and its brute-force limits (SEC-89..93)."""

    code_ttl_seconds: int = Field(
        600, ge=60, le=600, description="Lifetime of a device and user code (SEC-89: ≤ 10 min)."
    )
    interval_seconds: int = Field(
        5, ge=1, le=60, description="Minimum seconds between two polls of the token endpoint."
    )
    allow_self_registered_clients: bool = Field(
        False,
        description="Let dynamically registered and CIMD clients use the device flow. Off by "
        "default: a self-registered client can pose as anyone on the verification page, and "
        "the device flow is the one a remote phisher can start (RFC 8628 §5.4; SEC-92).",
    )
    requests_per_ip_per_minute: int = Field(
        30, ge=1, description="Device authorization requests per source IP (SEC-116)."
    )
    verification_window_seconds: int = Field(
        300, ge=10, description="Window of the user-code entry limits (SEC-90)."
    )
    attempts_per_session: int = Field(
        5, ge=1, description="User codes one signed-in session may try per window (SEC-90)."
    )
    attempts_per_ip: int = Field(
        20, ge=1, description="User codes one IP address may try per window (SEC-90)."
    )
    attempts_global: int = Field(
        1000,
        ge=1,
        description="User codes everyone together may try per window, which bounds the odds "
        "of guessing any live code (20^8 codes; SEC-90).",
    )


class JanitorSettings(BaseModel):
    """Deleting what has expired: codes, refresh tokens, grants, sessions, the denylist."""

    interval_seconds: int = Field(
        3600, ge=10, description="How often `serve` purges (with the idle-client reaper)."
    )
    retention_seconds: int = Field(
        3600, ge=0, description="How long past its expiry (or revocation) a row is kept."
    )
    code_retention_seconds: int = Field(
        86400,
        ge=0,
        description="How long past its expiry an authorization code is kept, so that a late "
        "replay of a used code still finds and revokes its grant (SEC-19).",
    )


class LoginSettings(BaseModel):
    """Sign-in, browser sessions and the authorization transaction (SEC-71..75, SEC-112)."""

    session_ttl_seconds: int = Field(
        12 * 3600, ge=300, description="A browser session ends this long after sign-in."
    )
    transaction_ttl_seconds: int = Field(
        600, ge=60, le=3600, description="Time to finish sign-in and consent for one request."
    )
    window_seconds: int = Field(300, ge=10, description="Window of the sign-in rate limits.")
    attempts_per_account_and_ip: int = Field(
        5, ge=1, description="Sign-in attempts per account from one IP per window (SEC-73)."
    )
    attempts_per_ip: int = Field(30, ge=1, description="Sign-in attempts per IP per window.")
    attempts_per_account: int = Field(
        20,
        ge=1,
        description="Sign-in attempts per account from all IPs per window; softer than the "
        "per-IP limits so that an attacker cannot lock a person out.",
    )
    argon2_time_cost: int = Field(3, ge=1, description="argon2id passes (RFC 9106 §4).")
    argon2_memory_kib: int = Field(65536, ge=8, description="argon2id memory, in KiB.")
    argon2_parallelism: int = Field(4, ge=1, description="argon2id lanes.")


class ExchangeSettings(BaseModel):
    """Token exchange (RFC 8693): who may exchange, and how far delegation goes.

    Only admin-registered confidential clients with the token-exchange grant type exchange
    at all (SEC-94). A client exchanges its own tokens and, if it is listed in
    ``resource_servers``, the tokens for the resources it serves (SEC-95).
    """

    max_chain_depth: int = Field(
        3,
        ge=1,
        le=10,
        description="Most actors in a token's nested `act` chain; an exchange that would "
        "add one more is refused with invalid_request (SEC-97).",
    )
    refresh_tokens: bool = Field(
        False,
        description="Issue a refresh token with an exchanged token, to clients registered "
        "for refresh_token. Off, an exchanged token never outlives its subject token "
        "(SEC-99).",
    )
    targets: dict[str, list[str]] = Field(
        default_factory=dict,
        description="client_id → the only audiences it may ask for; a client not listed may "
        "ask for any resource the resource policy accepts (SEC-97).",
    )


class Settings(BaseSettings):
    """Everything Warden reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="WARDEN_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    issuer: str = Field(
        "http://127.0.0.1:8000",
        description="The exact issuer identifier: scheme, host, port, optional path, no `/` end.",
    )
    database_url: str = Field("sqlite+aiosqlite:///warden.db")
    redis_url: str | None = Field(None, description="Shared rate limits and caches across nodes.")
    redis_prefix: str = "warden:"
    secret_key: SecretStr | None = Field(
        None,
        description="Master secret (≥32 chars): encrypts signing keys and flow cookies. "
        "Unset on a loopback issuer, one is generated into `secret_key_file`.",
    )
    secret_key_file: Path = Field(Path("warden.secret"))
    scopes_file: Path | None = Field(None, description="TOML scope catalogue.")
    scopes_reload_seconds: int = Field(
        10,
        ge=0,
        description="How often, at most, to look for a changed `scopes_file` (its mtime) and "
        "reload it; 0 turns the look off. SIGHUP reloads it at once either way.",
    )
    resource_servers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="client_id → the resource URIs it serves. Such a confidential client may "
        "introspect any live token whose `aud` names one of them, not only its own (RFC 7662 "
        "§4: the resource server learns about the tokens presented to it), and exchange it "
        "to call further resources for the same person (RFC 8693, SEC-95).",
    )
    resource_policy: Literal["any", "registered"] = Field(
        "any",
        description="`any`: any absolute https (or loopback http) resource becomes the "
        "audience; `registered`: only resources added with `warden resources add`.",
    )
    incremental_authorization: bool = Field(
        True, description="A new grant is the union with what the user already consented."
    )
    trusted_proxies: list[str] = Field(default_factory=list)
    tokens: TokenSettings = Field(default_factory=TokenSettings)
    registration: RegistrationSettings = Field(default_factory=RegistrationSettings)
    cimd: CimdSettings = Field(default_factory=CimdSettings)
    device: DeviceSettings = Field(default_factory=DeviceSettings)
    login: LoginSettings = Field(default_factory=LoginSettings)
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    janitor: JanitorSettings = Field(default_factory=JanitorSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("WARDEN_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("issuer")
    @classmethod
    def _check_issuer(cls, value: str) -> str:
        """RFC 8414 §2: https, no query or fragment. SEC-113: http only on loopback."""
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("issuer must be an absolute https URL")
        if parts.query or parts.fragment or value.endswith("/"):
            raise ValueError("issuer has no query, fragment or trailing slash")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ValueError("an http issuer is allowed only on a loopback host")
        return value

    @property
    def issuer_path(self) -> str:
        """The issuer's path ('' for a root issuer), where Warden's endpoints are mounted."""
        return urlsplit(self.issuer).path.rstrip("/")

    @property
    def is_development(self) -> bool:
        """A loopback http issuer: the developer's own machine."""
        return urlsplit(self.issuer).scheme == "http"

    def endpoint(self, path: str) -> str:
        """The absolute URL of one of Warden's endpoints, from the issuer (never from Host)."""
        return f"{self.issuer}{path}"

    def insecure_warnings(self) -> list[str]:
        """One line per insecure setting in use, logged at start-up."""
        warnings = []
        if self.is_development:
            warnings.append(f"issuer {self.issuer} is plain http (development only)")
        if self.secret_key is None:
            warnings.append(f"no WARDEN_SECRET_KEY; using the generated {self.secret_key_file}")
        if self.cimd.allow_loopback:
            warnings.append("CIMD documents may be fetched from loopback addresses")
        if self.registration.enabled and self.registration.initial_access_token is None:
            warnings.append("dynamic client registration is open to anyone (no initial token)")
        if self.device.allow_self_registered_clients:
            warnings.append("self-registered clients may start the device flow (SEC-92)")
        return warnings
