"""Wiring the scope catalogue's reloader into the app: per request, and on ``SIGHUP``.

:class:`~warden.oauth.scope_reload.CatalogueReloader` decides; this module only calls it. The
middleware asks before each HTTP request (a clock read, and a ``stat`` at most once per
interval), so a changed file takes effect on the first request after the interval with no
background task. ``SIGHUP`` reloads at once; uvicorn leaves that signal to the application
in a single-process server, and a multi-worker supervisor answers it by restarting workers,
which loads the file anew as well.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Receive, Scope, Send

from warden.oauth.scope_reload import CatalogueReloader

__all__ = ["CatalogueReloadMiddleware", "reload_on_sighup"]

log = logging.getLogger("warden")


class CatalogueReloadMiddleware:
    """Pure ASGI: give the reloader a chance before each HTTP request."""

    def __init__(self, app: ASGIApp, reloader: CatalogueReloader) -> None:
        self.app = app
        self.reloader = reloader

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.reloader.maybe_reload()
        await self.app(scope, receive, send)


@contextmanager
def reload_on_sighup(reloader: CatalogueReloader) -> Iterator[bool]:
    """Reload on ``SIGHUP`` while the block runs; yields whether the handler is installed.

    Signal handlers exist only in the main thread of a Unix process; elsewhere (an app run
    in a worker thread, Windows) the file's mtime is still followed.
    """
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, reloader.reload)
    except (AttributeError, NotImplementedError, RuntimeError, ValueError):
        log.info("SIGHUP cannot reload the scope catalogue here; its file is still followed")
        yield False
        return
    try:
        yield True
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
