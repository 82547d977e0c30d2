"""Name resolution for the fetcher, behind a small Protocol so tests can script answers."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

__all__ = ["Resolver", "SystemResolver"]


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every IP address ``host`` has, as strings; raise ``OSError`` if it has none."""
        ...


class SystemResolver:
    """The operating system's resolver, through the event loop so it never blocks it."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        return list(dict.fromkeys(str(info[4][0]) for info in infos))
