"""The records the protocol engine works with.

Plain frozen dataclasses: the storage layer maps them to tables, the protocol code never sees
an ORM object. Secrets (client secrets, codes, refresh tokens, registration access tokens,
session ids) appear here only as digests (SEC-107, SEC-108); see :mod:`warden.oauth.secrets`.
Times are float seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "ClientKind",
    "ClientOrigin",
    "Consent",
    "DeviceAuthorization",
    "DeviceStatus",
    "Grant",
    "RefreshToken",
    "Resource",
    "Session",
    "StoredKey",
    "User",
]

ClientKind = Literal["agent", "app", "service"]
"""Who drives the client: an AI agent, a first-party app a person uses, or a backend service."""

ClientOrigin = Literal["dynamic", "cimd", "static"]
"""How Warden learned of the client: RFC 7591 registration, a metadata document, or an admin."""


@dataclass(frozen=True, slots=True)
class Client:
    """An OAuth client (RFC 7591 §2 metadata plus Warden's own fields)."""

    client_id: str
    origin: ClientOrigin
    kind: ClientKind
    token_endpoint_auth_method: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...] = ("code",)
    application_type: str = "web"
    scope: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Every other registered metadata value, as returned to the client (client_name, ...)."""
    secret_hash: str | None = None
    secret_expires_at: int = 0
    registration_token_hash: str | None = None
    fingerprint: str | None = None
    """Digest of the registration request, for idempotent re-registration."""
    registered_from: str | None = None
    created_at: float = 0.0
    last_used_at: float | None = None
    metadata_expires_at: float | None = None
    """CIMD: when the cached metadata document must be fetched again."""

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def client_name(self) -> str | None:
        name = self.metadata.get("client_name")
        return name if isinstance(name, str) else None


@dataclass(frozen=True, slots=True)
class User:
    """A human who signs in with a password (argon2id, SEC-112)."""

    user_id: str
    username: str
    password_hash: str
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Grant:
    """One token family: everything issued from one authorization (code, device, exchange).

    Revoking the grant kills its refresh tokens and, through the ``grant_id`` claim checked
    by introspection, its access tokens (SEC-19, SEC-31, SEC-50).
    """

    grant_id: str
    client_id: str
    user_id: str | None
    scope: str
    resources: tuple[str, ...]
    created_at: float
    expires_at: float
    revoked_at: float | None = None
    kind: str = "authorization_code"
    actor_chain: tuple[Mapping[str, Any], ...] = ()
    """RFC 8693 delegation: the actors its tokens name in ``act``, the current one first."""
    auth_time: float | None = None
    """When the person authenticated, for the ``auth_time`` claim of every token of the grant."""
    parent_grant_id: str | None = None
    """Token exchange: the grant this one was delegated from; revoking it revokes this one."""

    def is_active(self, now: float) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    """An issued authorization code (OAuth 2.1 §4.1.2), stored by digest."""

    code_hash: str
    client_id: str
    user_id: str
    grant_id: str
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    scope: str
    resources: tuple[str, ...]
    auth_time: float
    expires_at: float
    consumed_at: float | None = None


DeviceStatus = Literal["pending", "approved", "denied", "consumed"]
"""A device authorization's life: pending until the person decides, then approved (until the
device collects its tokens: consumed) or denied (RFC 8628 §3.3, §3.5)."""


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """A device authorization request (RFC 8628 §3.1, §3.2).

    Both codes are stored only as digests (SEC-108); the user code's digest is taken of its
    normalised form, so it is found however the person typed it. ``interval`` is the polling
    interval the device was told, raised by ``slow_down`` (§3.5). ``user_id``, ``auth_time``
    and ``grant_id`` are set when the person decides.
    """

    device_code_hash: str
    user_code_hash: str
    client_id: str
    scope: str
    resources: tuple[str, ...]
    created_at: float
    expires_at: float
    interval: int
    status: DeviceStatus = "pending"
    user_id: str | None = None
    auth_time: float | None = None
    grant_id: str | None = None
    last_polled_at: float | None = None

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """A refresh token (OAuth 2.1 §4.3), stored by digest, single use (rotated)."""

    token_hash: str
    grant_id: str
    client_id: str
    scope: str
    resources: tuple[str, ...]
    issued_at: float
    expires_at: float
    consumed_at: float | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    """What a person approved for one client (SEC-68): remembered per user × client."""

    user_id: str
    client_id: str
    scopes: frozenset[str]
    resources: frozenset[str]
    redirect_uri: str
    granted_at: float
    updated_at: float
    last_used_at: float | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser session (SEC-71, SEC-72), stored by digest of its id."""

    session_hash: str
    user_id: str
    auth_time: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A signing key as stored: the private JWK is encrypted (SEC-110)."""

    kid: str
    alg: str
    public_jwk: Mapping[str, Any]
    encrypted_private_jwk: bytes
    state: Literal["active", "published", "retired"]
    created_at: float
    activated_at: float | None = None
    retired_at: float | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """A protected resource Warden knows (RFC 8707): its canonical URI and scopes."""

    uri: str
    scopes: tuple[str, ...] = ()
    name: str | None = None
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the audit trail. ``actor_type`` tells agent traffic from human traffic."""

    event: str
    at: float
    client_id: str | None = None
    user_id: str | None = None
    actor_type: str | None = None
    grant_id: str | None = None
    source: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
