"""Authorization server metadata (RFC 8414), https://www.rfc-editor.org/rfc/rfc8414

A resource server learns where the authorization server keeps its keys (``jwks_uri``) and
its introspection endpoint from the issuer alone. The probe order is the one MCP clients use
(MCP 2025-11-25 discovery; mcp-auth.md C2): RFC 8414 first, then OpenID Connect Discovery.

The ``issuer`` in the document must equal the configured issuer exactly, or the document is
refused (RFC 8414 §3.3; SEC-78); endpoints in it must be https, unless the issuer itself is a
loopback ``http`` one used in development.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from warden.clock import Clock, SystemClock
from warden.resource._http import HttpStatusError, request_json
from warden.resource._urls import check_issuer, is_loopback_http, well_known_url
from warden.resource.errors import AuthorizationServerUnavailable

__all__ = ["AuthorizationServerMetadata", "metadata_urls"]

RETRY_AFTER_FAILURE_SECONDS: Final = 10.0
"""A failed discovery is not retried sooner, so a down server is not hammered per request."""


def metadata_urls(issuer: str) -> tuple[str, ...]:
    """Where the metadata of ``issuer`` may be, in probe order."""
    oauth = well_known_url(issuer, "oauth-authorization-server")
    oidc = well_known_url(issuer, "openid-configuration")
    if urlsplit(issuer).path in ("", "/"):
        return oauth, oidc
    return oauth, oidc, issuer.rstrip("/") + "/.well-known/openid-configuration"


class AuthorizationServerMetadata:
    """The metadata of one issuer, fetched on first use and then kept.

    :param http: the client to fetch with; tests inject one over ``httpx.MockTransport``.
    """

    def __init__(self, issuer: str, *, http: httpx.AsyncClient, clock: Clock | None = None):
        self.issuer = check_issuer(issuer)
        self._http = http
        self._clock = clock or SystemClock()
        self._document: Mapping[str, Any] | None = None
        self._failed: tuple[float, AuthorizationServerUnavailable] | None = None
        self._lock = asyncio.Lock()

    async def document(self) -> Mapping[str, Any]:
        """The metadata document.

        :raises AuthorizationServerUnavailable: it could not be fetched, or names another issuer.
        """
        async with self._lock:
            if self._document is not None:
                return self._document
            if self._failed and self._clock.now() - self._failed[0] < RETRY_AFTER_FAILURE_SECONDS:
                raise self._failed[1]
            try:
                self._document = await self._fetch()
            except AuthorizationServerUnavailable as exc:
                self._failed = (self._clock.now(), exc)
                raise
            return self._document

    async def endpoint(self, name: str) -> str:
        """The URL of metadata member ``name`` (``jwks_uri``, ``introspection_endpoint``, …).

        :raises AuthorizationServerUnavailable: absent, or not an acceptable URL.
        """
        url = (await self.document()).get(name)
        if not isinstance(url, str) or not self.acceptable_endpoint(url):
            raise AuthorizationServerUnavailable(f"{self.issuer} metadata has no usable {name}")
        return url

    def acceptable_endpoint(self, url: str) -> bool:
        """https, or loopback http when the issuer is a loopback http one (development)."""
        parts = urlsplit(url)
        if not parts.hostname or parts.fragment:
            return False
        return parts.scheme == "https" or (is_loopback_http(self.issuer) and is_loopback_http(url))

    async def _fetch(self) -> Mapping[str, Any]:
        for url in metadata_urls(self.issuer):
            try:
                document = await request_json(self._http, "GET", url)
            except HttpStatusError as exc:
                if 400 <= exc.status < 500:
                    continue
                raise
            if document.get("issuer") != self.issuer:
                raise AuthorizationServerUnavailable(
                    f"{url} names issuer {document.get('issuer')!r}, not {self.issuer!r}"
                )
            return document
        raise AuthorizationServerUnavailable(f"no metadata found for issuer {self.issuer!r}")
