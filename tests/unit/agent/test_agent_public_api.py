"""The public surface of warden.agent, and that it stands alone (no server modules loaded)."""

from __future__ import annotations

import subprocess
import sys

import warden.agent


def test_exported_names_are_sorted_and_exist() -> None:
    names = warden.agent.__all__
    assert names == sorted(names)
    assert all(hasattr(warden.agent, name) for name in names)


def test_importing_the_agent_loads_nothing_of_the_server() -> None:
    code = (
        "import sys, warden.agent\n"
        "server = ('starlette', 'sqlalchemy', 'jinja2', 'warden.oauth', 'warden.web',"
        " 'warden.storage', 'warden.settings')\n"
        "print(sorted(m for m in sys.modules if m.startswith(server)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
