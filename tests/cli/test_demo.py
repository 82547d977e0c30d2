"""`warden demo`: the whole walk, end to end, as a person runs it (a real process, real ports)."""

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

WARDEN = str(Path(sys.executable).parent / "warden")
TIMEOUT_SECONDS = 120

STEPS = [
    "Warden demo",
    "1. The agent connects to the MCP server, with no token",
    "POST http://127.0.0.1:{mcp}/mcp → 401 Unauthorized",
    'WWW-Authenticate: Bearer resource_metadata="http://127.0.0.1:{mcp}/.well-known/'
    'oauth-protected-resource/mcp", scope="read:calendar:next-7-days '
    'write:email:draft-only-no-send"',
    "2. Protected resource metadata (RFC 9728)",
    "3. Authorization server metadata (RFC 8414)",
    "4. Dynamic client registration (RFC 7591)",
    "5. Consent (authorization request)",
    "Signed in as 'demo'.",
    "Consent page: pressed Allow.",
    "6. Token (authorization code + PKCE verifier + resource)",
    "actor_type  agent",
    "aud         http://127.0.0.1:{mcp}/mcp",
    "7. The agent lists the tools",
    "8. Tool call: calendar_next_events",
    "Team stand-up",
    "9. Tool call: email_draft",
    "10. Tool call: email_send (sensitive)",
    "POST http://127.0.0.1:{mcp}/mcp → 403 Forbidden",
    'error="insufficient_scope"',
    "11. Consent again, for the union of scopes",
    "12. A new token, with the added scope",
    "write:email:draft-only-no-send write:email:send",
    "13. Tool call: email_send, retried with the new token",
    "sent (demo)",
    "The agent got through: every step above succeeded.",
]


def _env() -> dict[str, str]:
    # Wide, plain output; WARDEN_* of the developer's shell must not matter to the demo.
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDEN_")}
    return {**env, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}


def _ports(output: str) -> dict[str, str]:
    auth = re.search(r"Authorization server\s+http://127\.0\.0\.1:(\d+)", output)
    mcp = re.search(r"Demo MCP server\s+http://127\.0\.0\.1:(\d+)/mcp", output)
    assert auth and mcp, output
    return {"auth": auth[1], "mcp": mcp[1]}


def assert_steps_in_order(output: str) -> None:
    ports = _ports(output)
    position = 0
    for step in STEPS:
        expected = step.format(**ports)
        found = output.find(expected, position)
        assert found >= 0, f"missing (or out of order): {expected!r}\n\n{output}"
        position = found + len(expected)


def test_demo_walks_the_agent_through_and_exits(tmp_path: Path) -> None:
    done = subprocess.run(
        [WARDEN, "demo", "--exit", "--port", "0", "--mcp-port", "0"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=TIMEOUT_SECONDS,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert_steps_in_order(done.stdout)
    assert "Both servers keep running" not in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing left in the working directory


@pytest.fixture
def serving_demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    output = tmp_path / "demo.out"
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [WARDEN, "demo", "--port", "0", "--mcp-port", "0"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        yield proc, output
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_demo_keeps_serving_until_ctrl_c(
    serving_demo: tuple[subprocess.Popen[bytes], Path],
) -> None:
    proc, output = serving_demo
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while "Press Ctrl-C to stop" not in output.read_text():
        assert proc.poll() is None, output.read_text()
        assert time.monotonic() < deadline, output.read_text()
        time.sleep(0.2)
    text = output.read_text()
    ports = _ports(text)
    sign_in = re.search(r"Sign in as\s+demo / (\S+)", text)
    assert sign_in, text

    metadata = httpx.get(
        f"http://127.0.0.1:{ports['mcp']}/.well-known/oauth-protected-resource/mcp"
    ).json()
    issuer = httpx.get(f"http://127.0.0.1:{ports['auth']}/.well-known/oauth-authorization-server")
    assert metadata["authorization_servers"] == [issuer.json()["issuer"]]
    assert f"claude mcp add --transport http warden-demo {metadata['resource']}" in text

    proc.send_signal(signal.SIGINT)

    assert proc.wait(timeout=30) == 0
    assert "Stopping." in output.read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{ports['mcp']}/mcp", timeout=2)


def test_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]

        result = CliRunner().invoke(app, ["demo", "--exit", "--port", str(port)])

    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.output
    assert "--port" in result.output
