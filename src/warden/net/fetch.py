"""SSRF-guarded fetching of JSON documents named by clients.

Warden fetches URLs that strangers give it: Client ID Metadata Documents
(draft-ietf-oauth-client-id-metadata-document §6.5, §6.6), the ``jwks_uri`` of
``private_key_jwt`` clients (RFC 7591 §2) and Web Bot Auth key directories. Every fetch:

- checks the URL's shape before touching the network (SEC-52);
- resolves the host once and refuses it if any address is special-use (SEC-53);
- connects only to an address it checked, so DNS rebinding cannot redirect it (SEC-54);
- follows no redirect and accepts only ``200`` (SEC-55);
- caps the body while streaming, refuses compression and non-JSON types, and runs under a
  connect timeout, a total deadline and a cap on concurrent fetches (SEC-56);
- fails with one generic :class:`FetchError`; the reason goes to the ``warden.net`` log only,
  so the error cannot serve as a port scanner (SEC-61).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from warden import __version__
from warden.clock import Clock, SystemClock
from warden.net._addresses import is_special_use_address, parse_address
from warden.net._caching import freshness_lifetime
from warden.net._resolver import Resolver, SystemResolver
from warden.net._transport import PinnedTransport
from warden.net._urls import UnsafeURLError, check_url_shape

__all__ = ["DEFAULT_LIMITS", "FetchError", "FetchLimits", "FetchedDocument", "SafeFetcher"]

logger = logging.getLogger("warden.net")

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch (CIMD §6.6). Defaults suit Client ID Metadata Documents."""

    connect_timeout_seconds: float = 2.0
    total_timeout_seconds: float = 5.0
    max_bytes: int = 5 * 1024
    allow_loopback: bool = False
    """Development only: fetch from loopback addresses, over plain ``http`` too."""
    allowed_content_types: tuple[str, ...] = ("application/json",)
    """Media types accepted; any ``application/*+json`` type is accepted as well."""


DEFAULT_LIMITS = FetchLimits()


@dataclass(frozen=True)
class FetchedDocument:
    """A JSON document fetched with a ``200`` response, and what its headers say about reuse."""

    url: str
    body: Any
    """The parsed JSON value; callers validate its structure."""
    max_age_seconds: int | None
    """Reuse lifetime from the caching headers (0 = do not reuse, None = not stated)."""
    etag: str | None


class FetchError(Exception):
    """The document could not be fetched. Every failure carries the same message (SEC-61)."""

    MESSAGE: ClassVar[str] = "the document could not be fetched"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class _Refused(Exception):
    """Why a fetch was abandoned: logged, never shown."""


class SafeFetcher:
    """Fetches JSON documents from client-supplied URLs without becoming an SSRF proxy.

    :param limits: timeouts, body cap and content types.
    :param resolver: name resolution; the operating system's by default.
    :param max_concurrent: fetches in flight at once; more wait, within their deadline.
    :param clock: the time used to read ``Expires`` when there is no ``Date``.
    :param ssl_context: the trust store for ``https``; httpx's default (certifi) if omitted.
    """

    def __init__(
        self,
        limits: FetchLimits = DEFAULT_LIMITS,
        *,
        resolver: Resolver | None = None,
        max_concurrent: int = 16,
        clock: Clock | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._limits = limits
        self._resolver = resolver or SystemResolver()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._max_concurrent = max_concurrent
        self._clock = clock or SystemClock()
        self._ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._headers = {
            "Accept": ", ".join(limits.allowed_content_types),
            "Accept-Encoding": "identity",
            "User-Agent": f"Warden/{__version__}",
        }
        self._closed = False

    async def get_json(self, url: str) -> FetchedDocument:
        """GET ``url`` and parse its JSON body, under every guard in the module docstring.

        :raises FetchError: for any failure, always with the same message.
        """
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._limits.total_timeout_seconds), self._slots:
                if self._closed:
                    raise _Refused("the fetcher is closed")
                return await self._fetch(url)
        except _Refused as exc:
            reason = str(exc)
        except TimeoutError:
            reason = "the total deadline passed"
        except (httpx.HTTPError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.warning("fetch of %r failed after %.0f ms: %s", url, elapsed_ms, reason)
        raise FetchError from None

    async def aclose(self) -> None:
        """Refuse new fetches and wait for those in flight (each ends by its deadline)."""
        self._closed = True
        for _ in range(self._max_concurrent):
            await self._slots.acquire()
        for _ in range(self._max_concurrent):
            self._slots.release()

    async def _fetch(self, url: str) -> FetchedDocument:
        try:
            check_url_shape(
                url,
                require_path=False,
                allow_query=True,
                allow_loopback=self._limits.allow_loopback,
            )
        except UnsafeURLError as exc:
            raise _Refused(str(exc)) from None
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or _DEFAULT_PORTS[target.scheme]
        addresses = await self._checked_addresses(target.scheme, host, port)
        transport = PinnedTransport(host, addresses, ssl_context=self._ssl_context)
        timeout = httpx.Timeout(
            self._limits.total_timeout_seconds, connect=self._limits.connect_timeout_seconds
        )
        async with (
            httpx.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
            ) as client,
            client.stream("GET", target, headers=self._headers) as response,
        ):
            self._check_response(response)
            raw = await self._read_capped(response)
        return FetchedDocument(
            url=url,
            body=_parse_json(raw),
            max_age_seconds=freshness_lifetime(response.headers, now=self._clock.now()),
            etag=response.headers.get("etag"),
        )

    async def _checked_addresses(self, scheme: str, host: str, port: int) -> list[str]:
        """Resolve ``host`` once and refuse it if any answer is special-use (SEC-53)."""
        try:
            literal = parse_address(host)
        except ValueError:
            answers = await self._resolver.resolve(host, port)
        else:
            answers = [str(literal)]
        if not answers:
            raise _Refused(f"{host} has no addresses")
        checked: list[str] = []
        for answer in answers:
            try:
                address = parse_address(answer)
            except ValueError:
                raise _Refused(f"the resolver answered {answer!r}, not an address") from None
            if is_special_use_address(address, allow_loopback=self._limits.allow_loopback):
                raise _Refused(f"{host} resolves to special-use address {address}")
            if scheme == "http" and not address.is_loopback:
                raise _Refused(f"plain http to non-loopback address {address}")
            checked.append(str(address))
        return list(dict.fromkeys(checked))

    def _check_response(self, response: httpx.Response) -> None:
        """Only a plain ``200`` JSON response within the size cap counts (SEC-55, SEC-56)."""
        if response.status_code != 200:
            raise _Refused(f"status {response.status_code}")
        codings = ",".join(response.headers.get_list("content-encoding")).split(",")
        if any(coding.strip().lower() not in ("", "identity") for coding in codings):
            raise _Refused(f"content-encoding {response.headers['content-encoding']!r}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not _is_json_type(media_type, self._limits.allowed_content_types):
            raise _Refused(f"content-type {media_type!r}")
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self._limits.max_bytes:
            raise _Refused(f"content-length {declared} is over {self._limits.max_bytes} bytes")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """Read the raw body, stopping as soon as it passes the cap (never trust the length)."""
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > self._limits.max_bytes:
                raise _Refused(f"body is over {self._limits.max_bytes} bytes")
        return bytes(body)


def _is_json_type(media_type: str, allowed: tuple[str, ...]) -> bool:
    """An allowed type, or a structured-syntax ``+json`` type (RFC 6839 §3.1)."""
    return media_type in allowed or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _parse_json(raw: bytes) -> Any:
    """Strict JSON (RFC 8259): UTF-8, no NaN or Infinity, no repeated member names (RFC 7493)."""
    try:
        return json.loads(
            raw.decode("utf-8"), object_pairs_hook=_unique_members, parse_constant=_no_constant
        )
    except (ValueError, RecursionError) as exc:
        raise _Refused(f"invalid JSON: {exc}") from None


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("repeated member name")
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
