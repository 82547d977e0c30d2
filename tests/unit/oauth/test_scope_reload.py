"""Reloading the scope catalogue when its file changes, looked at once per interval."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from warden.clock import FrozenClock
from warden.oauth.scope_reload import CatalogueReloader
from warden.oauth.scopes import ScopeCatalogue

ONE = '[scopes."files:read"]\ndescription = "Read your files"\n'
TWO = ONE + '[scopes."files:write"]\ndescription = "Change your files"\nsensitivity = "high"\n'


def write(path: Path, text: str, mtime: int) -> None:
    """Write ``text`` with an explicit mtime, so that two writes never share one."""
    path.write_text(text)
    os.utime(path, ns=(mtime, mtime))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "scopes.toml"
    write(path, ONE, 1_000_000_000)
    return path


@pytest.fixture
def reloader(path: Path, clock: FrozenClock) -> CatalogueReloader:
    return CatalogueReloader(ScopeCatalogue.load(path), path, clock, check_interval_seconds=10)


def test_a_changed_file_is_picked_up_after_the_interval(
    reloader: CatalogueReloader, path: Path, clock: FrozenClock
) -> None:
    write(path, TWO, 2_000_000_000)
    assert not reloader.maybe_reload()  # looked at no more often than every 10 s
    assert "files:write" not in reloader.catalogue
    clock.advance(10)
    assert reloader.maybe_reload()
    assert "files:write" in reloader.catalogue


def test_an_unchanged_file_is_not_reloaded(
    reloader: CatalogueReloader, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.advance(60)
    with caplog.at_level(logging.INFO, logger="warden"):
        assert not reloader.maybe_reload()
    assert not caplog.records


def test_a_broken_file_keeps_the_running_catalogue(
    reloader: CatalogueReloader, path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    write(path, '[scopes."files:read"]\nsensitivity = "extreme"\n', 2_000_000_000)
    clock.advance(10)
    with caplog.at_level(logging.ERROR, logger="warden"):
        assert not reloader.maybe_reload()
    assert reloader.catalogue.names() == ["files:read"]
    assert "not reloaded" in caplog.text
    # Fixed: the next look reloads it, although no new interval had to be waited for twice.
    write(path, TWO, 3_000_000_000)
    clock.advance(10)
    assert reloader.maybe_reload()
    assert reloader.catalogue.names() == ["files:read", "files:write"]


def test_a_deleted_file_keeps_the_running_catalogue(
    reloader: CatalogueReloader, path: Path, clock: FrozenClock
) -> None:
    path.unlink()
    clock.advance(10)
    assert not reloader.maybe_reload()
    assert reloader.catalogue.names() == ["files:read"]


def test_interval_zero_turns_the_look_off(path: Path, clock: FrozenClock) -> None:
    reloader = CatalogueReloader(ScopeCatalogue.load(path), path, clock, check_interval_seconds=0)
    write(path, TWO, 2_000_000_000)
    clock.advance(3600)
    assert not reloader.maybe_reload()
    assert reloader.reload()  # SIGHUP's path still works
    assert "files:write" in reloader.catalogue
