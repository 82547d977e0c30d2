"""An httpx transport that can only dial addresses checked beforehand (DNS-rebinding defence).

The fetcher resolves the host once, checks every address, and hands the survivors to
:class:`PinnedTransport`. Its network backend ignores DNS altogether: a connection to the
pinned host goes to a checked address, a connection to any other host is refused. The URL,
and so the ``Host`` header, TLS SNI and certificate check, keep the original host name.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Sequence

import httpcore
import httpx

__all__ = ["PinnedTransport"]


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Dials the checked addresses of one host, in order, and nothing else."""

    def __init__(self, host: str, addresses: Sequence[str]) -> None:
        if not addresses:
            raise ValueError("at least one checked address is needed")
        self._host = host
        self._addresses = tuple(addresses)
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host != self._host:
            raise httpcore.ConnectError(f"{host!r} is not the pinned host {self._host!r}")
        error: Exception | None = None
        for address in self._addresses:
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the fetcher never dials Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """One-connection, no-keep-alive transport whose sockets go only to ``addresses``."""

    def __init__(self, host: str, addresses: Sequence[str], *, ssl_context: ssl.SSLContext):
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        # httpx 0.28 takes no network backend (encode/httpx#3749), so the pool built above is
        # swapped for one with the same settings and the pinned backend (httpx is pinned ==).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            network_backend=_PinnedBackend(host, addresses),
        )
