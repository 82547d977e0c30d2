"""Load a real `warden serve` with client_credentials requests and report req/s.

    .venv/bin/python bench/client_credentials.py [--seconds 20] [--workers 2]
        [--concurrency 32] [--database-url postgresql+asyncpg://...]

Starts Warden on a free loopback port (a fresh SQLite file unless a database URL is given),
registers one confidential client, then runs two phases of equal length from one load process:

- baseline: ``GET /jwks.json`` (the same server stack, no database, no signing);
- measured: ``POST /token`` with ``grant_type=client_credentials`` (client authentication,
  a database read, an ES256 signature and an audit write per request).

It prints both rates, their ratio and latency percentiles. The ratio is what to compare across
runs and machines: the load generator shares the machine's cores with the server, so absolute
figures move with whatever else runs. Traffic goes only to 127.0.0.1, and each phase stops
after ``--seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_server(args: argparse.Namespace, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WARDEN_ISSUER": f"http://127.0.0.1:{port}",
        "WARDEN_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{workdir}/bench.db",
        "WARDEN_SECRET_KEY": secrets.token_urlsafe(48),
        "WARDEN_REGISTRATION__PER_SOURCE_PER_HOUR": "1000",
    }
    warden = Path(sys.executable).with_name("warden")
    command = [str(warden), "serve", "--port", str(port), "--workers", str(args.workers)]
    if args.database_url:
        command.append("--migrate")
    command += ["--log-level", "warning"]
    return subprocess.Popen(command, env=env, cwd=workdir)


async def _wait_ready(http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("warden serve did not become healthy within 60 s")


async def _register(http: httpx.AsyncClient) -> tuple[str, str]:
    response = await http.post(
        "/register",
        json={
            "client_name": "bench",
            "redirect_uris": ["https://bench.example/cb"],
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )
    response.raise_for_status()
    body = response.json()
    return body["client_id"], body["client_secret"]


async def _phase(
    send: Callable[[], Awaitable[httpx.Response]], seconds: float, concurrency: int
) -> tuple[float, list[float], int]:
    """Run ``send`` from ``concurrency`` tasks for ``seconds``; rate, latencies, failures."""
    latencies: list[float] = []
    failures = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal failures
        while time.monotonic() < stop:
            started = time.perf_counter()
            response = await send()
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                failures += 1

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (time.monotonic() - began), latencies, failures


def _report(name: str, rate: float, latencies: list[float], failures: int) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} {rate:8.1f} req/s   p50 {q[49] * 1000:6.1f} ms   "
        f"p99 {q[98] * 1000:6.1f} ms   non-200: {failures}"
    )


async def _run(args: argparse.Namespace, port: int) -> None:
    limits = httpx.Limits(max_connections=args.concurrency)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        await _wait_ready(http)
        client_id, secret = await _register(http)
        form = {"grant_type": "client_credentials", "resource": "https://mcp.example/mcp"}

        async def jwks() -> httpx.Response:
            return await http.get("/jwks.json")

        async def token() -> httpx.Response:
            return await http.post("/token", data=form, auth=(client_id, secret))

        await _phase(token, 2, args.concurrency)  # warm-up: connections, caches
        base_rate, base_lat, base_fail = await _phase(jwks, args.seconds, args.concurrency)
        cc_rate, cc_lat, cc_fail = await _phase(token, args.seconds, args.concurrency)
    print(f"workers={args.workers} concurrency={args.concurrency} seconds={args.seconds}")
    _report("baseline GET /jwks.json", base_rate, base_lat, base_fail)
    _report("client_credentials", cc_rate, cc_lat, cc_fail)
    print(f"ratio client_credentials / baseline: {cc_rate / base_rate:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        server = _start_server(args, Path(workdir), port)
        try:
            asyncio.run(_run(args, port))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
