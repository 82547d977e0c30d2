"""The authorization server's signing keys: a JSON Web Key Set (RFC 7517 §5), cached.

Keys come only from the issuer's own metadata ``jwks_uri`` (or a URL or key set the server
author configures), never from the token: ``jku``, ``x5u``, ``jwk`` and ``x5c`` headers are
ignored (RFC 8725 §3.10; SEC-78, SEC-81). A key is found by exact ``kid``.

Refreshing, and why it is bounded:

- the set is fetched on first use and again when older than ``max_age_seconds``, so a key the
  issuer withdrew stops verifying;
- an unknown ``kid`` (a rotation), or a signature failing under a known one (a key replaced
  under the same ``kid``, mcp-auth.md P11), triggers one refetch, at most once per
  ``min_refresh_seconds`` (a minute by default): a flood of tokens with random ``kid`` values
  costs the issuer at most one request a minute, then fails closed (SEC-81);
- a failed refetch keeps the keys already held; with none held, verification reports the
  authorization server unavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import Key, import_key

from warden.clock import Clock, SystemClock
from warden.resource._algorithms import (
    DEFAULT_ALGORITHMS,
    PUBLIC_MEMBERS,
    check_algorithms,
    key_algorithms,
)
from warden.resource._http import request_json
from warden.resource._urls import check_resource
from warden.resource.discovery import AuthorizationServerMetadata
from warden.resource.errors import AuthorizationServerUnavailable

__all__ = ["JwksCache", "VerificationKey", "parse_jwks"]

logger = logging.getLogger("warden.resource")

MIN_REFRESH_SECONDS: Final = 60.0
MAX_AGE_SECONDS: Final = 600.0
RETRY_WITHOUT_KEYS_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key with its ``kid`` and the algorithm it verifies (one algorithm; an
    Ed25519 key may carry both of that algorithm's names, ``EdDSA`` and ``Ed25519``)."""

    kid: str
    algorithms: frozenset[str]
    key: Key


def parse_jwks(
    document: Mapping[str, Any], algorithms: Iterable[str]
) -> dict[str, VerificationKey]:
    """The usable keys of a JWK Set by ``kid``.

    Keys without a ``kid``, not for signatures (``use``/``key_ops``), of an algorithm not
    allowed, or malformed are skipped (RFC 7517 §5: ignore what is not understood). A ``kid``
    appearing twice is dropped altogether: an exact match must be unambiguous.
    """
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise AuthorizationServerUnavailable("the JWKS has no keys array")
    allowed = tuple(algorithms)
    keys: dict[str, VerificationKey] = {}
    seen: set[str] = set()
    for entry in entries:
        key = _usable_key(entry, allowed) if isinstance(entry, dict) else None
        if key is None:
            continue
        if key.kid in seen:
            keys.pop(key.kid, None)
            continue
        seen.add(key.kid)
        keys[key.kid] = key
    return keys


def _usable_key(entry: Mapping[str, Any], allowed: tuple[str, ...]) -> VerificationKey | None:
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if entry.get("use", "sig") != "sig":
        return None
    ops = entry.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    algorithms = key_algorithms(entry, allowed)
    members = PUBLIC_MEMBERS.get(str(entry.get("kty")))
    if not algorithms or members is None:
        return None
    try:
        key = import_key({m: entry[m] for m in members if m in entry})
    except (JoseError, ValueError, TypeError):
        logger.warning("JWKS key %r is malformed and was skipped", kid)
        return None
    return VerificationKey(kid=kid, algorithms=algorithms, key=key)


class JwksCache:
    """The key set of one issuer, fetched over HTTP and cached (see the module docstring).

    For a fixed key set with no fetching at all, use :meth:`from_jwks`.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None,
        source: AuthorizationServerMetadata | str | None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        clock: Clock | None = None,
        min_refresh_seconds: float = MIN_REFRESH_SECONDS,
        max_age_seconds: float = MAX_AGE_SECONDS,
    ) -> None:
        """
        :param http: the client to fetch with (tests inject one over ``httpx.MockTransport``).
        :param source: the issuer's metadata (``jwks_uri`` is discovered from it), or the JWKS
            URL itself; https, or loopback http for development.
        """
        if isinstance(source, str):
            check_resource(source, "jwks_uri")
        self.algorithms = check_algorithms(algorithms)
        self._http = http
        self._source = source
        self._clock = clock or SystemClock()
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._keys: dict[str, VerificationKey] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._on_demand_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_jwks(
        cls, jwks: Mapping[str, Any], algorithms: Iterable[str] = DEFAULT_ALGORITHMS
    ) -> JwksCache:
        """A fixed key set that is never fetched (tests, air-gapped deployments)."""
        cache = cls(http=None, source=None, algorithms=algorithms)
        cache._keys = parse_jwks(jwks, cache.algorithms)
        cache._loaded_at = float("inf")
        return cache

    async def get(self, kid: str) -> VerificationKey | None:
        """The key named ``kid``, refetching the set once if it is unknown (rate limited).

        :raises AuthorizationServerUnavailable: no key set could be obtained at all.
        """
        key = self._keys.get(kid)
        if key is not None and not self._stale():
            return key
        async with self._lock:
            fetched = False
            if self._loaded_at is None or self._stale():
                fetched = await self._scheduled_refresh()
            if kid not in self._keys and not fetched:
                await self._on_demand_refresh()
            return self._keys.get(kid)

    async def refetch(self, kid: str) -> VerificationKey | None:
        """Refetch (rate limited) after a signature failed under a known ``kid``.

        Some issuers replace a key under the same ``kid`` (mcp-auth.md P11); returns the key
        now held under ``kid``, which may be the same one.
        """
        async with self._lock:
            await self._on_demand_refresh()
            return self._keys.get(kid)

    def _stale(self) -> bool:
        return self._loaded_at is not None and self._clock.now() - self._loaded_at >= self._max_age

    async def _scheduled_refresh(self) -> bool:
        """The first load, or a reload of a stale set; retried no faster than its interval."""
        wait = self._min_refresh if self._loaded_at is not None else RETRY_WITHOUT_KEYS_SECONDS
        attempted = self._attempted_at
        if attempted is not None and self._clock.now() - attempted < wait:
            if self._loaded_at is None:
                raise AuthorizationServerUnavailable("no JWKS yet; waiting before a retry")
            return False
        return await self._fetch_keys()

    async def _on_demand_refresh(self) -> None:
        """A refetch asked for by a token: at most one per ``min_refresh_seconds`` (SEC-81)."""
        now = self._clock.now()
        if self._loaded_at is None:
            return
        if self._on_demand_at is not None and now - self._on_demand_at < self._min_refresh:
            return
        self._on_demand_at = now
        await self._fetch_keys()

    async def _fetch_keys(self) -> bool:
        """Fetch and swap in the key set; on failure keep what is held (or raise if nothing)."""
        if self._http is None or self._source is None:
            return False
        now = self._attempted_at = self._clock.now()
        try:
            self._keys = parse_jwks(await self._fetch(self._http, self._source), self.algorithms)
        except AuthorizationServerUnavailable as exc:
            logger.warning("JWKS refresh failed: %s", exc.reason)
            if self._loaded_at is None:
                raise
            return False
        self._loaded_at = now
        return True

    @staticmethod
    async def _fetch(
        http: httpx.AsyncClient, source: AuthorizationServerMetadata | str
    ) -> Mapping[str, Any]:
        url = source if isinstance(source, str) else await source.endpoint("jwks_uri")
        return await request_json(http, "GET", url)
