"""Dynamic Client Registration and its management.

- RFC 7591 (https://www.rfc-editor.org/rfc/rfc7591): ``POST /register`` with JSON metadata
  (§3.1) answers ``201`` with the client information (§3.2.1) or a JSON error (§3.2.2).
- RFC 7592 (https://www.rfc-editor.org/rfc/rfc7592): ``GET``/``PUT``/``DELETE`` on the
  ``registration_client_uri`` with the ``registration_access_token`` as a Bearer token.

Hygiene (MCP clients re-register on every connect, mcp-auth P6): a public client registering
again from the same source with the same metadata gets its existing ``client_id`` back
(with a fresh registration access token) instead of a new row; registrations are rate limited
per source; the number of dynamic clients is capped; dynamic clients nobody uses are reaped.

Every value Warden generates comes from :func:`~warden.oauth.secrets.new_token`; client
secrets and registration access tokens are stored only as digests (SEC-107).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from warden.clock import Clock
from warden.errors import (
    InvalidClientMetadataError,
    InvalidSoftwareStatementError,
    InvalidTokenError,
    TemporarilyUnavailableError,
    TooManyRequestsError,
)
from warden.net import check_url_shape
from warden.oauth.client_information import (
    SECRET_METHODS,
    Registration,
    parse_json_object,
)
from warden.oauth.client_metadata import (
    CLIENT_KINDS,
    ClientMetadata,
    MetadataPolicy,
    parse_client_metadata,
    trust_changed,
)
from warden.oauth.model import AuditEvent, Client, ClientKind, ClientOrigin
from warden.oauth.ports import Stores
from warden.oauth.scopes import ScopeCatalogue
from warden.oauth.secrets import SecretHasher, constant_time_equals, new_token
from warden.oauth.software_statement import SoftwareStatements
from warden.policy.ratelimit import RateLimiter
from warden.settings import RegistrationSettings, Settings

__all__ = ["Registrar", "bearer_token"]

CLIENT_ID_BYTES = 16  # 128 bits (SEC-44)
SECRET_BYTES = 32  # 256 bits (SEC-109)
_BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), else None."""
    match = _BEARER.fullmatch(authorization or "")
    return match.group(1) if match else None


def _invalid_token() -> InvalidTokenError:
    return InvalidTokenError(
        "The access token is missing, invalid or revoked",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _metadata_fields(meta: ClientMetadata) -> dict[str, Any]:
    """The :class:`Client` fields that come from validated metadata."""
    return {
        "kind": meta.kind,
        "token_endpoint_auth_method": meta.token_endpoint_auth_method,
        "redirect_uris": meta.redirect_uris,
        "grant_types": meta.grant_types,
        "response_types": meta.response_types,
        "application_type": meta.application_type,
        "scope": meta.scope,
        "metadata": dict(meta.extra),
    }


class Registrar:
    """Registers, reads, updates, deletes and reaps dynamic clients; adds static ones."""

    def __init__(
        self,
        settings: RegistrationSettings,
        *,
        scopes: ScopeCatalogue,
        hasher: SecretHasher,
        clock: Clock,
        limiter: RateLimiter,
        statements: SoftwareStatements,
        check_jwks_uri: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self._scopes = scopes
        self._hasher = hasher
        self._clock = clock
        self._limiter = limiter
        self._statements = statements
        self._check_jwks_uri = check_jwks_uri

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        scopes: ScopeCatalogue,
        hasher: SecretHasher,
        clock: Clock,
        limiter: RateLimiter,
    ) -> Registrar:
        """The registrar Warden runs with; trusted statement issuers' keys load now."""
        statements = SoftwareStatements.from_settings(
            settings.registration.trusted_software_statement_issuers, clock
        )
        return cls(
            settings.registration,
            scopes=scopes,
            hasher=hasher,
            clock=clock,
            limiter=limiter,
            statements=statements,
            check_jwks_uri=functools.partial(
                check_url_shape, require_path=False, allow_loopback=settings.cimd.allow_loopback
            ),
        )

    # --- RFC 7591 §3: registration ------------------------------------------------------

    async def register(
        self, body: bytes, *, stores: Stores, source: str | None, authorization: str | None
    ) -> Registration:
        """``POST /register``: a new client, or the same public client registered again."""
        await self._check_rate(source)
        self._check_initial_access_token(authorization)
        meta = self._validate(parse_json_object(body))
        fingerprint = self._fingerprint(meta, source)
        if fingerprint is not None:
            existing = await stores.clients.find_by_fingerprint(fingerprint)
            if existing is not None and existing.origin == "dynamic":
                return await self._reissue(existing, stores, source)
        if await stores.clients.count("dynamic") >= self.settings.max_clients:
            raise TemporarilyUnavailableError(
                "The client registry is full; try again later",
                headers={"Retry-After": str(self.settings.reap_interval_seconds)},
            )
        token, secret = new_token(), self._new_secret(meta.token_endpoint_auth_method)
        client = Client(
            client_id=new_token(CLIENT_ID_BYTES),
            origin="dynamic",
            **_metadata_fields(meta),
            secret_hash=self._digest(secret),
            registration_token_hash=self._hasher.digest(token),
            fingerprint=fingerprint,
            registered_from=source,
            created_at=self._clock.now(),
        )
        await stores.clients.add(client)
        await self._audit(stores, "client.registered", client, source=source)
        return Registration(client, registration_access_token=token, client_secret=secret)

    async def _reissue(self, client: Client, stores: Stores, source: str | None) -> Registration:
        """Idempotent re-registration: the old token was shown once, so issue a new one."""
        token = new_token()
        client = dataclasses.replace(client, registration_token_hash=self._hasher.digest(token))
        await stores.clients.replace(client)
        await self._audit(stores, "client.registered", client, source=source, deduplicated=True)
        return Registration(client, registration_access_token=token, deduplicated=True)

    async def _check_rate(self, source: str | None) -> None:
        """RFC 7591 §3 lets open registration be rate limited; per source, per hour (SEC-47)."""
        decision = await self._limiter.hit(
            f"register:{source or 'unknown'}",
            limit=self.settings.per_source_per_hour,
            window_seconds=3600,
        )
        if not decision.allowed:
            raise TooManyRequestsError(decision.retry_after_seconds)

    def _check_initial_access_token(self, authorization: str | None) -> None:
        """RFC 7591 §3: an optional initial access token, sent as a Bearer token."""
        expected = self.settings.initial_access_token
        if expected is None:
            return
        token = bearer_token(authorization)
        if token is None or not constant_time_equals(token, expected.get_secret_value()):
            raise _invalid_token()

    def _validate(self, data: dict[str, Any]) -> ClientMetadata:
        """Metadata checks, after a software statement's claims override the JSON (§3.1.1)."""
        statement = data.get("software_statement")
        if statement is None:
            if self.settings.require_software_statement:
                raise InvalidSoftwareStatementError("A software statement is required")
            return parse_client_metadata(data, self._policy("dynamic", frozenset({"agent"})))
        claims = self._statements.verify(statement)
        meta = parse_client_metadata({**data, **claims}, self._policy("dynamic", CLIENT_KINDS))
        extra = {**meta.extra, "software_statement": statement}
        return dataclasses.replace(meta, extra=extra)

    def _policy(self, origin: ClientOrigin, kinds: frozenset[ClientKind]) -> MetadataPolicy:
        return MetadataPolicy(
            origin=origin,
            scopes=self._scopes,
            max_redirect_uris=self.settings.max_redirect_uris,
            default_scope=self.settings.default_scope or None,
            allowed_kinds=kinds,
            check_jwks_uri=self._check_jwks_uri,
        )

    def _fingerprint(self, meta: ClientMetadata, source: str | None) -> str | None:
        """Public clients only; keyed by source so nobody else obtains a token for the client."""
        if meta.token_endpoint_auth_method != "none":
            return None
        canonical = json.dumps([source, meta.to_dict()], sort_keys=True, separators=(",", ":"))
        return self._hasher.digest(f"registration-fingerprint:{canonical}")

    def _new_secret(self, method: str) -> str | None:
        return new_token(SECRET_BYTES) if method in SECRET_METHODS else None

    def _digest(self, secret: str | None) -> str | None:
        return None if secret is None else self._hasher.digest(secret)

    # --- RFC 7592 §2: management --------------------------------------------------------

    async def read(
        self, client_id: str, *, stores: Stores, authorization: str | None
    ) -> Registration:
        """``GET /register/{client_id}`` (RFC 7592 §2.1)."""
        client = await self._authenticate(client_id, authorization, stores)
        return Registration(client, registration_access_token=bearer_token(authorization))

    async def update(
        self, client_id: str, body: bytes, *, stores: Stores, authorization: str | None
    ) -> Registration:
        """``PUT /register/{client_id}`` (RFC 7592 §2.2): every check again (SEC-49)."""
        client = await self._authenticate(client_id, authorization, stores)
        data = parse_json_object(body)
        self._check_unchangeable(client, data)
        meta = self._validate(data)
        secret, secret_hash = None, client.secret_hash
        if meta.token_endpoint_auth_method not in SECRET_METHODS:
            secret_hash = None
        elif secret_hash is None:
            secret = self._new_secret(meta.token_endpoint_auth_method)
            secret_hash = self._digest(secret)
        token = new_token()
        updated = dataclasses.replace(
            client,
            **_metadata_fields(meta),
            secret_hash=secret_hash,
            registration_token_hash=self._hasher.digest(token),
            fingerprint=self._fingerprint(meta, client.registered_from),
        )
        await stores.clients.replace(updated)
        dropped = 0
        if trust_changed(client, updated):
            # SEC-51: consent was given to the old redirect URIs or credentials.
            dropped = await stores.consents.delete_for_client(client.client_id)
        await self._audit(stores, "client.updated", updated, consents_dropped=dropped)
        return Registration(updated, registration_access_token=token, client_secret=secret)

    def _check_unchangeable(self, client: Client, data: Mapping[str, Any]) -> None:
        """RFC 7592 §2.2: the same ``client_id``; a ``client_secret`` only as issued."""
        if data.get("client_id") != client.client_id:
            raise InvalidClientMetadataError("client_id must be the client's current client_id")
        if "client_secret" in data:
            secret = data["client_secret"]
            if not (
                isinstance(secret, str)
                and client.secret_hash is not None
                and self._hasher.verify(secret, client.secret_hash)
            ):
                raise InvalidClientMetadataError("client_secret cannot be set by the client")

    async def delete(self, client_id: str, *, stores: Stores, authorization: str | None) -> None:
        """``DELETE /register/{client_id}`` (RFC 7592 §2.3): everything it holds goes (SEC-50)."""
        client = await self._authenticate(client_id, authorization, stores)
        grants = await self._remove(client.client_id, stores)
        await self._audit(stores, "client.deleted", client, grants_revoked=len(grants))

    async def _authenticate(
        self, client_id: str, authorization: str | None, stores: Stores
    ) -> Client:
        """RFC 7592 §2: the token is bound to one client; a misused token is revoked (SEC-48)."""
        token = bearer_token(authorization)
        if token is None:
            raise _invalid_token()
        digest = self._hasher.digest(token)
        client = await stores.clients.get(client_id)
        if (
            client is not None
            and client.origin == "dynamic"
            and client.registration_token_hash is not None
            and constant_time_equals(digest, client.registration_token_hash)
        ):
            return client
        owner = await stores.clients.find_by_registration_token(digest)
        if owner is not None:
            await stores.clients.replace(dataclasses.replace(owner, registration_token_hash=None))
            await self._audit(stores, "client.registration_token_revoked", owner)
        raise _invalid_token()

    async def remove(self, client_id: str, *, stores: Stores) -> bool:
        """Delete any client (``warden clients remove``); False if there is none."""
        client = await stores.clients.get(client_id)
        if client is None:
            return False
        grants = await self._remove(client_id, stores)
        await self._audit(stores, "client.deleted", client, grants_revoked=len(grants))
        return True

    async def _remove(self, client_id: str, stores: Stores) -> list[str]:
        await stores.clients.delete(client_id)
        grants = await stores.grants.revoke_for_client(client_id, self._clock.now())
        await stores.consents.delete_for_client(client_id)
        return grants

    # --- hygiene and administration -----------------------------------------------------

    async def reap(self, stores: Stores) -> list[str]:
        """Delete dynamic clients unused for ``idle_reap_seconds``; return their ids."""
        now = self._clock.now()
        reaped = await stores.clients.reap(now - self.settings.idle_reap_seconds)
        for client_id in reaped:
            await stores.grants.revoke_for_client(client_id, now)
            await stores.consents.delete_for_client(client_id)
            await stores.audit.record(
                AuditEvent(event="client.reaped", at=now, client_id=client_id, actor_type="system")
            )
        return reaped

    async def add_static(self, data: Mapping[str, Any], *, stores: Stores) -> Registration:
        """A pre-registered client (``warden clients add``): same checks, any ``client_kind``."""
        meta = parse_client_metadata(data, self._policy("static", CLIENT_KINDS))
        secret = self._new_secret(meta.token_endpoint_auth_method)
        client = Client(
            client_id=new_token(CLIENT_ID_BYTES),
            origin="static",
            **_metadata_fields(meta),
            secret_hash=self._digest(secret),
            created_at=self._clock.now(),
        )
        await stores.clients.add(client)
        await self._audit(stores, "client.registered", client, origin="static")
        return Registration(client, client_secret=secret)

    async def _audit(
        self, stores: Stores, event: str, client: Client, *, source: str | None = None, **data: Any
    ) -> None:
        await stores.audit.record(
            AuditEvent(
                event=event,
                at=self._clock.now(),
                client_id=client.client_id,
                actor_type=client.kind,
                source=source,
                data=data,
            )
        )
