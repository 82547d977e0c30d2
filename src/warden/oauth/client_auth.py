"""Client authentication at the token, introspection and revocation endpoints.

RFC 6749 §2.3 (https://www.rfc-editor.org/rfc/rfc6749#section-2.3), OAuth 2.1 §2.4,
RFC 7523 §2.2 and OIDC Core §9 for ``private_key_jwt``.

Four methods, named as in RFC 7591 §2:

- ``client_secret_basic``: ``Authorization: Basic`` with the form-urlencoded id and secret
  (RFC 6749 §2.3.1);
- ``client_secret_post``: ``client_id`` and ``client_secret`` in the body;
- ``private_key_jwt``: a signed assertion (:mod:`warden.oauth.client_assertion`);
- ``none``: a public client names itself with ``client_id`` and proves nothing.

A client may use only the method it registered (SEC-27): a ``client_secret_basic`` client that
puts its secret in the body fails exactly as a wrong secret does. Two methods at once, or
credentials in the query string, are malformed requests. Every failure is the same
``invalid_client`` (SEC-28) and costs one secret comparison even for an unknown client, so
neither the answer nor its timing says which part was wrong. Failures are counted per
client_id and source address; after :attr:`ClientAuthenticator.failure_limit` in a minute that
pair is refused with ``429`` until the minute ends, even with the right secret (SEC-116).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from dataclasses import dataclass
from typing import Final, Protocol
from urllib.parse import unquote_plus

from warden.clock import Clock
from warden.errors import InvalidClientError, InvalidRequestError, TooManyRequestsError
from warden.oauth.client_assertion import (
    JWT_BEARER,
    ClientKeys,
    unverified_issuer,
    verify_client_assertion,
)
from warden.oauth.model import Client
from warden.oauth.ports import ClientStore, Stores
from warden.oauth.requests import OAuthRequest
from warden.oauth.secrets import SecretHasher
from warden.policy.ratelimit import RateLimiter

__all__ = [
    "ClientAuthenticator",
    "ClientLookup",
    "FailedAuthentications",
    "PresentedCredentials",
    "presented_credentials",
]

_CREDENTIAL_PARAMS: Final = frozenset(
    {"client_id", "client_secret", "client_assertion", "client_assertion_type"}
)
_FAILED: Final = "Client authentication failed"
_CHALLENGE: Final = {"WWW-Authenticate": 'Basic realm="warden", charset="UTF-8"'}
"""Sent with every ``invalid_client``: a 401 carries a challenge (RFC 9110 §11.6.1), and the
same one whatever failed keeps the answers identical (SEC-28)."""


def _failed() -> InvalidClientError:
    return InvalidClientError(_FAILED, headers=_CHALLENGE)


class ClientLookup(Protocol):
    """Finds a client by id: the registered ones, and Client ID Metadata Documents."""

    async def find(self, client_id: str, store: ClientStore) -> Client | None: ...


@dataclass(frozen=True, slots=True)
class PresentedCredentials:
    """What the request offers: the method it amounts to, the client it names, the proof."""

    method: str
    client_id: str
    secret: str | None = None
    assertion: str | None = None


def presented_credentials(request: OAuthRequest) -> PresentedCredentials:
    """Work out which authentication method the request uses (OAuth 2.1 §2.4, SEC-27).

    :raises InvalidRequestError: credentials in the URL, or two methods at once.
    :raises InvalidClientError: no client identification at all, or an unreadable header.
    """
    if request.query.names() & _CREDENTIAL_PARAMS:
        raise InvalidRequestError("Client credentials must not be sent in the URL")
    form = request.form
    form_id, secret = form.get("client_id"), form.get("client_secret")
    assertion = form.get("client_assertion")
    basic = _basic_credentials(request.header("authorization"))
    if basic is not None:
        if secret is not None or assertion is not None:
            raise InvalidRequestError("Use only one client authentication method")
        if form_id is not None and form_id != basic[0]:
            raise InvalidRequestError("client_id does not match the Authorization header")
        return PresentedCredentials("client_secret_basic", basic[0], secret=basic[1])
    if assertion is not None:
        if secret is not None:
            raise InvalidRequestError("Use only one client authentication method")
        if form.get("client_assertion_type") != JWT_BEARER:
            raise InvalidRequestError("Unsupported client_assertion_type")
        client_id = form_id or unverified_issuer(assertion)
        if client_id is None:
            raise _failed()
        return PresentedCredentials("private_key_jwt", client_id, assertion=assertion)
    if form_id is None:
        raise _failed()
    if secret is not None:
        return PresentedCredentials("client_secret_post", form_id, secret=secret)
    return PresentedCredentials("none", form_id)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Decode ``Authorization: Basic``; id and secret are form-urlencoded (RFC 6749 §2.3.1)."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidRequestError("Unsupported Authorization scheme")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _failed() from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise _failed()
    return unquote_plus(client_id), unquote_plus(secret)


class FailedAuthentications:
    """Counts failed client authentications per client_id and source address (SEC-116).

    The count lives in the shared rate limiter (Redis when configured), so every node sees
    every failure. When the count reaches the limit, this node refuses the pair until the
    window ends; a node that has not yet seen the lock-out applies it at the pair's next
    failure, so a guesser gains at most one try per node.
    """

    def __init__(
        self, limiter: RateLimiter, clock: Clock, *, limit: int, window_seconds: int = 60
    ) -> None:
        self._limiter = limiter
        self._clock = clock
        self._limit = limit
        self._window = window_seconds
        self._blocked: dict[str, float] = {}

    def check(self, key: str) -> None:
        """:raises TooManyRequestsError: the pair is locked out."""
        until = self._blocked.get(key)
        if until is None:
            return
        remaining = until - self._clock.now()
        if remaining > 0:
            raise TooManyRequestsError(math.ceil(remaining))
        del self._blocked[key]

    async def record(self, key: str) -> None:
        """Count one failure; the one that reaches the limit locks the pair out."""
        decision = await self._limiter.hit(
            f"client-auth-failures:{key}", limit=self._limit - 1, window_seconds=self._window
        )
        if not decision.allowed:
            self._sweep()
            self._blocked[key] = self._clock.now() + decision.retry_after_seconds

    def _sweep(self) -> None:
        if len(self._blocked) >= 10_000:
            now = self._clock.now()
            self._blocked = {k: t for k, t in self._blocked.items() if t > now}


class ClientAuthenticator:
    """Authenticates the client of a token, introspection or revocation request."""

    def __init__(
        self,
        *,
        clients: ClientLookup,
        hasher: SecretHasher,
        clock: Clock,
        keys: ClientKeys,
        failures: FailedAuthentications,
        issuer: str,
        token_endpoint: str,
    ) -> None:
        self._clients = clients
        self._hasher = hasher
        self._clock = clock
        self._keys = keys
        self._failures = failures
        self._audiences = {issuer, token_endpoint}
        # Compared against when there is no real digest, so every failure costs the same.
        self._dummy_digest = hasher.digest("warden-dummy-client-secret")

    async def authenticate(
        self,
        request: OAuthRequest,
        stores: Stores,
        *,
        endpoint: str,
        allow_public: bool = True,
    ) -> Client:
        """The authenticated client, or a uniform ``invalid_client`` (401).

        :param endpoint: the absolute URL of the endpoint called, one more accepted ``aud``
            of a client assertion.
        :param allow_public: whether ``none`` is enough (not for introspection, RFC 7662 §2.1).
        :raises InvalidClientError: authentication failed, for whatever reason (SEC-28).
        :raises InvalidRequestError: the credentials were presented wrongly (SEC-27).
        :raises TooManyRequestsError: too many failures for this client from here (SEC-116).
        """
        presented = presented_credentials(request)
        key = _failure_key(presented.client_id, request.client_ip)
        self._failures.check(key)
        client = await self._clients.find(presented.client_id, stores.clients)
        if not await self._verified(client, presented, stores, endpoint, allow_public):
            await self._failures.record(key)
            raise _failed()
        assert client is not None
        return client

    async def _verified(
        self,
        client: Client | None,
        presented: PresentedCredentials,
        stores: Stores,
        endpoint: str,
        allow_public: bool,
    ) -> bool:
        if (
            client is None
            or client.token_endpoint_auth_method != presented.method
            or (client.is_public and not allow_public)
        ):
            if presented.secret is not None:
                self._hasher.verify(presented.secret, self._dummy_digest)
            return False
        if presented.method == "none":
            return True
        if presented.assertion is not None:
            return await verify_client_assertion(
                presented.assertion,
                client,
                keys=self._keys,
                audiences=self._audiences | {endpoint},
                clock=self._clock,
                replay=stores.denylist,
            )
        return self._secret_matches(client, presented.secret or "")

    def _secret_matches(self, client: Client, secret: str) -> bool:
        """Constant-time digest comparison (SEC-111); an expired secret never matches."""
        matches = self._hasher.verify(secret, client.secret_hash or self._dummy_digest)
        expired = 0 < client.secret_expires_at <= self._clock.now()
        return matches and client.secret_hash is not None and not expired


def _failure_key(client_id: str, client_ip: str | None) -> str:
    return hashlib.sha256(f"{client_id}\x00{client_ip or '-'}".encode()).hexdigest()[:32]
