"""Client ID Metadata Documents: a ``client_id`` that is the URL of the client's metadata.

draft-ietf-oauth-client-id-metadata-document-01
(https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/), the default
registration path of MCP 2026-07-28. When a client presents an ``https`` URL as its
``client_id``, Warden:

1. checks the URL's shape before any network access (§3, SEC-52);
2. limits fetches per host, so fresh URLs cannot make Warden a traffic amplifier (SEC-59);
3. fetches it through :class:`warden.net.SafeFetcher` (SSRF guard, no redirects, size and time
   limits; SEC-53..56);
4. validates it (§4.1, SEC-57, SEC-58): the document's ``client_id`` is the URL exactly,
   ``redirect_uris`` are listed, no ``client_secret`` and no symmetric auth method, and every
   redirect URI that is not loopback lives on the ``client_id``'s host; then the RFC 7591
   metadata checks every client passes;
5. caches the result as a ``Client`` row (``origin="cimd"``) for the document's HTTP cache
   lifetime clamped to ``[min_cache_seconds, max_cache_seconds]`` (§4.4); failures are never
   cached (SEC-59);
6. when a re-fetched document changes its redirect URIs, auth method or keys, drops the
   consents given to the old one (§6.3, SEC-62).

Every failure looks the same to the caller: the client is unknown (SEC-61). The reason goes
to the ``warden.cimd`` log.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from warden.clock import Clock
from warden.errors import OAuthError, TooManyRequestsError
from warden.net import FetchedDocument, FetchError, UnsafeURLError, check_url_shape
from warden.oauth.client_metadata import MetadataPolicy, parse_client_metadata, trust_changed
from warden.oauth.model import Client
from warden.oauth.ports import ClientStore, ConsentStore
from warden.oauth.redirect_uris import is_loopback_redirect
from warden.oauth.scopes import ScopeCatalogue
from warden.policy.ratelimit import RateLimiter
from warden.settings import CimdSettings

__all__ = [
    "CIMD_AUTH_METHODS",
    "DocumentFetcher",
    "InvalidDocument",
    "MetadataDocuments",
    "check_document",
]

log = logging.getLogger("warden.cimd")

CIMD_AUTH_METHODS = frozenset({"none", "private_key_jwt"})
"""A document is public, so it cannot carry a shared secret (§4.1, SEC-57)."""


class DocumentFetcher(Protocol):
    """What :class:`warden.net.SafeFetcher` offers; tests may substitute a spy."""

    async def get_json(self, url: str) -> FetchedDocument: ...


class InvalidDocument(Exception):
    """Why a document was refused; logged, never shown (SEC-61)."""


class MetadataDocuments:
    """Resolves URL ``client_id``s to clients, through a cache in the client store."""

    def __init__(
        self,
        settings: CimdSettings,
        *,
        fetcher: DocumentFetcher,
        scopes: ScopeCatalogue,
        limiter: RateLimiter,
        clock: Clock,
        max_redirect_uris: int = 10,
        default_scope: str | None = None,
    ) -> None:
        self._settings = settings
        self._fetcher = fetcher
        self._limiter = limiter
        self._clock = clock
        self._policy = MetadataPolicy(
            origin="cimd",
            scopes=scopes,
            max_redirect_uris=max_redirect_uris,
            default_scope=default_scope,
            auth_methods=CIMD_AUTH_METHODS,
            check_jwks_uri=self._check_url,
        )

    def handles(self, client_id: str) -> bool:
        """Whether ``client_id`` is a URL to resolve (and not a registered id)."""
        schemes = ("https://", "http://") if self._settings.allow_loopback else ("https://",)
        return self._settings.enabled and client_id.startswith(schemes)

    async def resolve(
        self, client_id: str, store: ClientStore, consents: ConsentStore | None = None
    ) -> Client | None:
        """The client this document describes, from the cache or freshly fetched.

        :raises TooManyRequestsError: the per-host fetch limit is spent (SEC-59).
        """
        try:
            self._check_url(client_id, require_path=True)
        except UnsafeURLError as exc:
            log.info("refused client_id %s before fetching: %s", client_id, exc)
            return None
        cached = await store.get(client_id)
        now = self._clock.now()
        if cached is not None and cached.origin != "cimd":
            return None
        if cached is not None and (cached.metadata_expires_at or 0) > now:
            return cached
        await self._check_host_budget(client_id)
        try:
            fresh = self._client(client_id, await self._fetcher.get_json(client_id), cached)
        except (FetchError, InvalidDocument, OAuthError) as exc:
            log.warning("client metadata document %s refused: %s", client_id, _reason(exc))
            return None
        return await self._store(fresh, cached, store, consents)

    def _check_url(self, url: str, *, require_path: bool = False) -> None:
        check_url_shape(
            url,
            require_path=require_path,
            allow_query=False,
            allow_loopback=self._settings.allow_loopback,
        )

    async def _check_host_budget(self, client_id: str) -> None:
        host = urlsplit(client_id).hostname or ""
        decision = await self._limiter.hit(
            f"cimd:host:{host}",
            limit=self._settings.fetches_per_host_per_minute,
            window_seconds=60,
        )
        if not decision.allowed:
            log.warning("client metadata fetches to %s over the per-minute limit", host)
            raise TooManyRequestsError(decision.retry_after_seconds)

    def _client(self, client_id: str, document: FetchedDocument, cached: Client | None) -> Client:
        """Validate the document (§4.1) and turn it into a cached client record."""
        body = document.body
        if not isinstance(body, dict):
            raise InvalidDocument("the document is not a JSON object")
        check_document(client_id, body)
        meta = parse_client_metadata(
            {"token_endpoint_auth_method": "none", **body},
            dataclasses.replace(self._policy, display_hosts=frozenset({_host(client_id)})),
        )
        now = self._clock.now()
        return Client(
            client_id=client_id,
            origin="cimd",
            kind=meta.kind,
            token_endpoint_auth_method=meta.token_endpoint_auth_method,
            redirect_uris=meta.redirect_uris,
            grant_types=meta.grant_types,
            response_types=meta.response_types,
            application_type=meta.application_type,
            scope=meta.scope,
            metadata=dict(meta.extra),
            created_at=cached.created_at if cached else now,
            last_used_at=cached.last_used_at if cached else None,
            metadata_expires_at=now + self._lifetime(document.max_age_seconds),
        )

    def _lifetime(self, max_age_seconds: int | None) -> int:
        """The HTTP cache lifetime, clamped to the configured bounds (§4.4, SEC-59)."""
        low, high = self._settings.min_cache_seconds, self._settings.max_cache_seconds
        return min(max(max_age_seconds if max_age_seconds is not None else low, low), high)

    async def _store(
        self,
        fresh: Client,
        cached: Client | None,
        store: ClientStore,
        consents: ConsentStore | None,
    ) -> Client:
        if cached is not None and trust_changed(cached, fresh):
            if consents is None:
                # Keep the old record (it has expired, so the next lookup fetches again) until
                # a caller that can drop the consents sees the change.
                return fresh
            dropped = await consents.delete_for_client(fresh.client_id)
            log.info("document %s changed; %d consents dropped", fresh.client_id, dropped)
        await store.replace(fresh)
        return fresh


def check_document(client_id: str, body: Mapping[str, Any]) -> None:
    """The document-specific rules, before the metadata checks (§4.1, SEC-57, SEC-58).

    :raises InvalidDocument: naming the rule the document breaks.
    """
    if body.get("client_id") != client_id:
        raise InvalidDocument("the document's client_id is not the URL it was fetched from")
    if not body.get("redirect_uris"):
        raise InvalidDocument("the document lists no redirect_uris")
    if "client_secret" in body or "client_secret_expires_at" in body:
        raise InvalidDocument("a public document cannot carry a client secret")
    method = body.get("token_endpoint_auth_method", "none")
    if not isinstance(method, str) or method not in CIMD_AUTH_METHODS:
        raise InvalidDocument(f"token_endpoint_auth_method {method!r} is not allowed")
    redirect_uris = body["redirect_uris"]
    if isinstance(redirect_uris, list):
        for uri in redirect_uris:
            if isinstance(uri, str) and not _redirect_belongs(uri, _host(client_id)):
                raise InvalidDocument(f"redirect URI {uri} is not on the client_id's host")


def _redirect_belongs(uri: str, host: str) -> bool:
    """SEC-58: loopback, on the client_id's host, or its reversed-domain private-use scheme."""
    if is_loopback_redirect(uri):
        return True
    parts = urlsplit(uri)
    if parts.scheme in ("https", "http"):
        return (parts.hostname or "") == host
    # RFC 8252 §7.1: a private-use scheme is the reverse of a domain the client controls.
    labels = host.split(".")
    owned = {".".join(reversed(labels[i:])) for i in range(len(labels) - 1)}
    return parts.scheme in owned


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _reason(exc: Exception) -> str:
    if isinstance(exc, OAuthError):
        return f"{exc.error}: {exc.description}"
    return f"{type(exc).__name__}: {exc}"
