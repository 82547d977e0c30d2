"""Reloading the scope catalogue while Warden runs.

An operator edits the TOML catalogue and Warden follows, without a restart: on ``SIGHUP``, and
when the file's modification time changes, looked at no more often than every
``scopes_reload_seconds`` (a look is one ``stat``; the web layer asks on each request).

A file that no longer loads (a typo, a half-written save) changes nothing: the running
catalogue stays, and the error is logged. Scopes that disappear from the file are refused from
then on with ``invalid_scope`` wherever they are requested; tokens already issued keep them
until they expire or are refreshed (refresh narrows, it never adds).
"""

from __future__ import annotations

import logging
from pathlib import Path

from warden.clock import Clock
from warden.oauth.scopes import ScopeCatalogue

__all__ = ["CatalogueReloader"]

log = logging.getLogger("warden")


class CatalogueReloader:
    """Keeps a shared :class:`ScopeCatalogue` in step with its TOML file."""

    def __init__(
        self,
        catalogue: ScopeCatalogue,
        path: Path,
        clock: Clock,
        *,
        check_interval_seconds: float,
    ) -> None:
        self.catalogue = catalogue
        self.path = path
        self._clock = clock
        self._interval = check_interval_seconds
        self._mtime = self._modified()
        self._next_check = clock.now() + check_interval_seconds

    def reload(self) -> bool:
        """Load the file now; True if the catalogue changed to it, False (logged) if not."""
        self._mtime = self._modified()
        try:
            fresh = ScopeCatalogue.load(self.path)
        except (OSError, ValueError) as exc:
            log.error("scope catalogue %s not reloaded; keeping the old one: %s", self.path, exc)
            return False
        self.catalogue.replace_entries(fresh)
        log.info("scope catalogue reloaded from %s (%d scopes)", self.path, len(fresh.names()))
        return True

    def maybe_reload(self) -> bool:
        """Reload if the file changed, looking at most once per interval. True if reloaded."""
        if self._interval <= 0:
            return False
        now = self._clock.now()
        if now < self._next_check:
            return False
        self._next_check = now + self._interval
        if self._modified() == self._mtime:
            return False
        return self.reload()

    def _modified(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None
