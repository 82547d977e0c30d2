"""`warden mcp-demo`: the demo MCP server as its own process, next to any authorization server.

Its working with `warden serve` end to end is covered by tests/interop/test_mcp_python_sdk.py
(same app, same defaults) and by `warden demo`; here, the command itself.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from warden.cli import app
from warden.resource import parse_bearer_challenge

WARDEN = str(Path(sys.executable).parent / "warden")
ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def mcp_demo(tmp_path: Path) -> Iterator[str]:
    """``warden mcp-demo --port 0``, running; its resource URL."""
    output = tmp_path / "mcp-demo.out"
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [WARDEN, "mcp-demo", "--port", "0", "--authorization-server", ISSUER],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
            start_new_session=True,
        )
    try:
        yield _wait_until_serving(proc, output)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=20)


def _wait_until_serving(proc: subprocess.Popen[bytes], output: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, output.read_text()
        found = re.search(r"Demo MCP server at (http://127\.0\.0\.1:\d+/mcp)", output.read_text())
        if found:
            try:
                httpx.get(found[1].replace("/mcp", "/.well-known/oauth-protected-resource"))
                return found[1]
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"warden mcp-demo did not start:\n{output.read_text()}")


def test_serves_its_metadata_and_challenges_for_the_given_issuer(mcp_demo: str) -> None:
    resource = mcp_demo
    metadata_url = resource.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")

    metadata = httpx.get(metadata_url).json()
    unauthenticated = httpx.post(resource, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})

    assert metadata["resource"] == resource
    assert metadata["authorization_servers"] == [ISSUER]  # exactly, no trailing slash (P1)
    assert metadata["scopes_supported"] == [
        "read:calendar:next-7-days",
        "write:email:draft-only-no-send",
    ]
    assert unauthenticated.status_code == 401
    assert parse_bearer_challenge(unauthenticated.headers["www-authenticate"]) == {
        "resource_metadata": metadata_url,
        "scope": "read:calendar:next-7-days write:email:draft-only-no-send",
    }


@pytest.mark.parametrize(
    "issuer", ["not a url", "http://auth.example.com", "https://auth.example.com#x"]
)
def test_an_unusable_authorization_server_is_refused(issuer: str) -> None:
    result = CliRunner().invoke(app, ["mcp-demo", "--port", "0", "--authorization-server", issuer])

    assert result.exit_code == 1
    assert "warden mcp-demo: issuer" in result.output


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]

        result = CliRunner().invoke(app, ["mcp-demo", "--port", str(port)])

    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.output
