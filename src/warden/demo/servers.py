"""Run an ASGI app under uvicorn in a background thread, on a socket bound up front.

``warden demo`` runs the authorization server and the demo MCP server side by side in one
process, and tests start real servers the same way. The listening socket is bound before the
thread starts, so a busy port is reported at once (:class:`PortInUseError`) and port ``0``
gives a free port whose number is known before the app is built (URLs depend on it). Each
server has its own thread and event loop; the app is built inside that loop by ``factory``,
so nothing bound to an event loop (database pools, HTTP clients) crosses threads.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self

import uvicorn
from starlette.types import ASGIApp

from warden.errors import WardenError

__all__ = ["BackgroundServer", "PortInUseError", "bind_loopback"]

LOOPBACK: Final = "127.0.0.1"
START_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 15.0


class PortInUseError(WardenError):
    """The port asked for is taken by another program."""


def bind_loopback(port: int) -> socket.socket:
    """A TCP socket bound to ``127.0.0.1:port`` (``0``: any free port), not yet listening.

    :raises PortInUseError: another program holds the port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        raise PortInUseError(f"port {port} on {LOOPBACK} is in use ({exc.strerror})") from exc
    return sock


class BackgroundServer:
    """One uvicorn server in a daemon thread; a context manager that starts and stops it.

    :param name: for messages, e.g. ``"authorization server"``.
    :param factory: builds the ASGI app, called in the server's own thread and event loop.
    :param sock: from :func:`bind_loopback`; the server takes ownership of it.
    """

    def __init__(self, name: str, factory: Callable[[], ASGIApp], sock: socket.socket) -> None:
        self.name = name
        self._sock = sock
        self.port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            factory,
            factory=True,
            log_config=None,  # a library does not reconfigure logging; records reach the root
            log_level="warning",
            lifespan="on",
            ws="none",
            server_header=False,
            # Graceful shutdown would wait for open streams (an MCP client's SSE GET) forever.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"warden-{name}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """The server's origin, ``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start(); a thread cannot raise to its parent
            self._error = exc

    def start(self) -> None:
        """Start serving; return once the server accepts connections.

        :raises RuntimeError: the app failed to start (its lifespan raised, say).
        """
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive() or waited >= START_TIMEOUT_SECONDS:
                self.stop()
                raise RuntimeError(f"the {self.name} did not start") from self._error
            self._thread.join(0.02)
            waited += 0.02

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_SECONDS)
        self._sock.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
