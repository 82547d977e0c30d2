"""Everything the web layer wires together, built once per app from the settings."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from warden.clock import Clock, SystemClock
from warden.errors import ConfigurationError
from warden.net import FetchLimits, SafeFetcher
from warden.oauth.client_assertion import ClientKeys
from warden.oauth.client_auth import ClientAuthenticator, FailedAuthentications
from warden.oauth.clients import ClientDirectory
from warden.oauth.registration import Registrar
from warden.oauth.scope_reload import CatalogueReloader
from warden.oauth.scopes import ScopeCatalogue
from warden.oauth.secrets import SecretHasher
from warden.oauth.users import Passwords
from warden.policy.ratelimit import RateLimiter, make_rate_limiter
from warden.settings import Settings
from warden.storage.engine import Database
from warden.tokens.access_token import AccessTokenIssuer
from warden.tokens.encryption import KeyCipher
from warden.tokens.keys import KeyRing

__all__ = ["AppContext", "build_context", "derive_key", "load_master_secret"]

log = logging.getLogger("warden")


def load_master_secret(settings: Settings) -> bytes:
    """The master secret: from settings, or generated once into a file on a dev machine."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < 32:
            raise ConfigurationError("WARDEN_SECRET_KEY must be at least 32 characters")
        return value.encode()
    if not settings.is_development:
        raise ConfigurationError("WARDEN_SECRET_KEY is required for a non-loopback issuer")
    path: Path = settings.secret_key_file
    try:
        # Created owner-only in one step, and only once even if two processes race.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    """One independent key per purpose from the master secret (HKDF, RFC 5869)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=b"warden-v1", info=purpose.encode())
    return hkdf.derive(master)


def fernet_key(master: bytes, purpose: str) -> bytes:
    return base64.urlsafe_b64encode(derive_key(master, purpose))


@dataclass
class AppContext:
    """Shared, long-lived components. Per-request state lives in a unit of work."""

    settings: Settings
    db: Database
    clock: Clock
    master_secret: bytes
    hasher: SecretHasher
    scopes: ScopeCatalogue
    limiter: RateLimiter
    registrar: Registrar
    clients: ClientDirectory
    passwords: Passwords
    keyring: KeyRing
    access_tokens: AccessTokenIssuer
    client_authenticator: ClientAuthenticator
    """How clients authenticate: at the token, introspection, revocation and device
    authorization endpoints alike (RFC 6749 §2.3, RFC 8628 §3.1)."""
    scope_reloader: CatalogueReloader | None = None
    """Follows ``settings.scopes_file``, when there is one."""


def build_context(settings: Settings, *, clock: Clock | None = None) -> AppContext:
    master = load_master_secret(settings)
    clock = clock or SystemClock()
    cipher = KeyCipher(fernet_key(master, "signing-keys"))
    keyring = KeyRing(cipher, clock, settings.tokens.signing_alg)
    hasher = SecretHasher(derive_key(master, "secret-digest-pepper"))
    scopes = ScopeCatalogue.load(settings.scopes_file)
    limiter = make_rate_limiter(settings, clock)
    clients = ClientDirectory.from_settings(settings, scopes=scopes, limiter=limiter, clock=clock)
    return AppContext(
        settings=settings,
        db=Database(settings.database_url),
        clock=clock or SystemClock(),
        master_secret=master,
        hasher=hasher,
        scopes=scopes,
        limiter=limiter,
        registrar=Registrar.from_settings(
            settings, scopes=scopes, hasher=hasher, clock=clock, limiter=limiter
        ),
        clients=clients,
        passwords=Passwords(settings.login),
        keyring=keyring,
        access_tokens=AccessTokenIssuer(keyring, settings.issuer, clock),
        client_authenticator=_client_authenticator(settings, clients, hasher, clock, limiter),
        scope_reloader=_scope_reloader(settings, scopes, clock),
    )


def _client_authenticator(
    settings: Settings,
    clients: ClientDirectory,
    hasher: SecretHasher,
    clock: Clock,
    limiter: RateLimiter,
) -> ClientAuthenticator:
    # private_key_jwt clients' JWKS, fetched SSRF-guarded (RFC 7523 §2.2).
    limits = FetchLimits(
        max_bytes=64 * 1024,
        allowed_content_types=("application/json", "application/jwk-set+json"),
        allow_loopback=settings.cimd.allow_loopback,
    )
    return ClientAuthenticator(
        clients=clients,  # marks clients used, at most hourly, for reaping
        hasher=hasher,
        clock=clock,
        keys=ClientKeys(SafeFetcher(limits, clock=clock), clock),
        failures=FailedAuthentications(
            limiter, clock, limit=settings.tokens.client_auth_failures_per_minute
        ),
        issuer=settings.issuer,
        token_endpoint=settings.endpoint("/token"),
    )


def _scope_reloader(
    settings: Settings, scopes: ScopeCatalogue, clock: Clock
) -> CatalogueReloader | None:
    if settings.scopes_file is None:
        return None
    return CatalogueReloader(
        scopes, settings.scopes_file, clock, check_interval_seconds=settings.scopes_reload_seconds
    )
