"""The scope catalogue reloads on SIGHUP while the app runs (warden.web.scope_reload)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from warden.clock import FrozenClock
from warden.oauth.scope_reload import CatalogueReloader
from warden.oauth.scopes import ScopeCatalogue
from warden.web.scope_reload import reload_on_sighup

ONE = '[scopes."files:read"]\ndescription = "Read your files"\n'
TWO = ONE + '[scopes."files:write"]\ndescription = "Change your files"\n'


async def test_sighup_reloads_at_once(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "scopes.toml"
    path.write_text(ONE)
    reloader = CatalogueReloader(ScopeCatalogue.load(path), path, clock, check_interval_seconds=0)
    path.write_text(TWO)
    with reload_on_sighup(reloader) as installed:
        assert installed
        signal.raise_signal(signal.SIGHUP)
        for _ in range(10):  # the loop runs signal handlers on its next iterations
            if "files:write" in reloader.catalogue:
                break
            await asyncio.sleep(0)
    assert "files:write" in reloader.catalogue
    loop = asyncio.get_running_loop()
    assert not loop.remove_signal_handler(signal.SIGHUP)  # removed when the block ended
