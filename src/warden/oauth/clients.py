"""Finding the client a request names: registered clients and metadata documents.

The authorization, token, introspection and revocation endpoints all look clients up here,
so a ``client_id`` means the same thing everywhere: a registered id (RFC 7591 or
``warden clients add``) is read from the store; an ``https`` URL is a Client ID Metadata
Document, fetched and cached by :class:`~warden.oauth.cimd.MetadataDocuments`.

Finding a client also records that it is in use (at most once per ``touch_interval_seconds``,
to keep reads cheap), which is what keeps a used dynamic client from being reaped.
"""

from __future__ import annotations

import dataclasses

from warden.clock import Clock
from warden.net import FetchLimits, Resolver, SafeFetcher
from warden.oauth.cimd import DocumentFetcher, MetadataDocuments
from warden.oauth.model import Client
from warden.oauth.ports import ClientStore, ConsentStore
from warden.oauth.scopes import ScopeCatalogue
from warden.policy.ratelimit import RateLimiter
from warden.settings import Settings

__all__ = ["ClientDirectory"]


class ClientDirectory:
    """``await ctx.clients.find(client_id, stores.clients)``: the client, or None."""

    def __init__(
        self,
        *,
        documents: MetadataDocuments | None,
        clock: Clock,
        touch_interval_seconds: float = 3600,
        fetcher: SafeFetcher | None = None,
    ) -> None:
        self.documents = documents
        self._clock = clock
        self._touch_interval = touch_interval_seconds
        self._fetcher = fetcher

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        scopes: ScopeCatalogue,
        limiter: RateLimiter,
        clock: Clock,
        resolver: Resolver | None = None,
        fetcher: DocumentFetcher | None = None,
    ) -> ClientDirectory:
        """The directory Warden runs with. ``resolver``/``fetcher`` are for tests."""
        cimd = settings.cimd
        owned: SafeFetcher | None = None
        if fetcher is None:
            limits = FetchLimits(
                connect_timeout_seconds=cimd.connect_timeout_seconds,
                total_timeout_seconds=cimd.total_timeout_seconds,
                max_bytes=cimd.max_document_bytes,
                allow_loopback=cimd.allow_loopback,
            )
            fetcher = owned = SafeFetcher(limits, resolver=resolver, clock=clock)
        documents = MetadataDocuments(
            cimd,
            fetcher=fetcher,
            scopes=scopes,
            limiter=limiter,
            clock=clock,
            max_redirect_uris=settings.registration.max_redirect_uris,
            default_scope=settings.registration.default_scope or None,
        )
        return cls(documents=documents if cimd.enabled else None, clock=clock, fetcher=owned)

    async def find(
        self, client_id: str, store: ClientStore, consents: ConsentStore | None = None
    ) -> Client | None:
        """The client named ``client_id``, or None if there is none (or its document fails).

        Pass ``consents`` where it is at hand (the authorization endpoint): a metadata document
        whose redirect URIs, auth method or keys changed then drops the consents given to the
        old one (SEC-62).

        :raises TooManyRequestsError: too many metadata documents fetched from one host.
        """
        if self.documents is not None and self.documents.handles(client_id):
            client = await self.documents.resolve(client_id, store, consents)
        else:
            client = await store.get(client_id)
        return None if client is None else await self._touch(client, store)

    async def _touch(self, client: Client, store: ClientStore) -> Client:
        now = self._clock.now()
        if client.last_used_at is not None and now - client.last_used_at < self._touch_interval:
            return client
        await store.touch(client.client_id, now)
        return dataclasses.replace(client, last_used_at=now)

    async def aclose(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
