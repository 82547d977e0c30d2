"""Fixtures for the interop tests that run real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.interop.demo_servers import DemoServers


@pytest.fixture
def demo_servers(tmp_path: Path) -> Iterator[DemoServers]:
    """Warden and the demo MCP server on loopback, stopped after the test."""
    servers = DemoServers(tmp_path)
    yield servers
    servers.stop()
