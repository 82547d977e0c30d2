"""The SSRF-guarded fetcher (SEC-52 to SEC-56, SEC-61) against real local listeners.

Every test runs with a stub resolver and a spy on the one place sockets are opened
(httpcore's AnyIO backend): the spy records each dial and lets only loopback through, so no
test touches the real network. "Refused" always means both a ``FetchError`` and "the
listener saw 0 connections".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import ipaddress
import logging
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from warden.clock import FrozenClock
from warden.net import FetchError, FetchLimits, SafeFetcher

DEV = FetchLimits(allow_loopback=True)
DOCUMENT = b'{"client_id": "https://cimd.test/id", "redirect_uris": ["https://cimd.test/cb"]}'

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# --- test doubles ----------------------------------------------------------------------------


class StubResolver:
    """Answers every lookup from a script: the n-th call gets the n-th answer (the last repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = answers or (["127.0.0.1"],)
        self.calls: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


@dataclass
class Listener:
    """A TCP server on 127.0.0.1 that counts connections and records request heads."""

    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    async def read_head(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests.append(head)
        return head


def response(
    body: bytes = DOCUMENT,
    *,
    status: str = "200 OK",
    content_type: str = "application/json",
    headers: Iterable[str] = (),
    length: bool = True,
) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}", "Connection: close"]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    lines.extend(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def replying(reply: bytes) -> Callable[[Listener], Handler]:
    """A handler that reads the request head, then sends ``reply`` and closes."""

    def make(listener: Listener) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await listener.read_head(reader)
            writer.write(reply)
            await writer.drain()

        return handle

    return make


SERVE_DOCUMENT = replying(response())

Listen = Callable[..., Awaitable[Listener]]


@pytest.fixture
async def listen() -> AsyncIterator[Listen]:
    """Start listeners on 127.0.0.1; all are closed, and their handlers ended, afterwards."""
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[Any]] = set()

    async def start(
        make: Callable[[Listener], Handler] = SERVE_DOCUMENT,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> Listener:
        listener = Listener()
        handle = make(listener)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            listener.connections += 1
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await handle(reader, writer)
            except (OSError, asyncio.IncompleteReadError):
                pass  # the fetcher hung up, as it should have
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
        servers.append(server)
        listener.port = server.sockets[0].getsockname()[1]
        return listener

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.fixture(autouse=True)
def dials(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the fetcher dials; anything but loopback fails as unreachable."""
    seen: list[tuple[str, int]] = []
    real = httpcore.AnyIOBackend.connect_tcp

    async def spy(
        self: httpcore.AnyIOBackend, host: str, port: int, **kwargs: Any
    ) -> httpcore.AsyncNetworkStream:
        seen.append((host, port))
        try:
            reachable = ipaddress.ip_address(host).is_loopback
        except ValueError:
            reachable = False  # a host name: something bypassed the checked addresses
        if not reachable:
            raise httpcore.ConnectError("unreachable in tests")
        return await real(self, host, port, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", spy)
    return seen


async def refused(fetcher: SafeFetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.get_json(url)
    return caught.value


# --- the success path ------------------------------------------------------------------------


async def test_fetches_json_over_the_checked_address(
    listen: Listen, dials: list[tuple[str, int]]
) -> None:
    listener = await listen(
        replying(response(headers=['ETag: "v1"', "Cache-Control: public, max-age=600"]))
    )
    resolver = StubResolver(["127.0.0.1"])
    fetcher = SafeFetcher(DEV, resolver=resolver)

    url = f"http://cimd.test:{listener.port}/id"
    document = await fetcher.get_json(url)

    assert document.url == url
    assert document.body["client_id"] == "https://cimd.test/id"
    assert document.etag == '"v1"'
    assert document.max_age_seconds == 600
    assert resolver.calls == [("cimd.test", listener.port)]
    assert dials == [("127.0.0.1", listener.port)]
    head = listener.requests[0].decode().lower()
    assert f"host: cimd.test:{listener.port}\r\n" in head
    assert "accept: application/json\r\n" in head


async def test_accepts_structured_json_media_types(listen: Listen) -> None:
    listener = await listen(
        replying(response(b'{"keys": []}', content_type="application/jwk-set+json"))
    )
    fetcher = SafeFetcher(DEV, resolver=StubResolver())

    document = await fetcher.get_json(f"http://cimd.test:{listener.port}/jwks?v=1")

    assert document.body == {"keys": []}
    assert document.max_age_seconds is None
    assert document.etag is None


async def test_expires_is_read_against_the_date_header(listen: Listen) -> None:
    listener = await listen(
        replying(
            response(
                headers=[
                    "Date: Sun, 06 Nov 1994 08:49:37 GMT",
                    "Expires: Sun, 06 Nov 1994 09:49:37 GMT",
                ]
            )
        )
    )
    fetcher = SafeFetcher(DEV, resolver=StubResolver(), clock=FrozenClock())

    document = await fetcher.get_json(f"http://cimd.test:{listener.port}/id")

    assert document.max_age_seconds == 3600


# --- SEC-52: URL shape, before any network access -------------------------------------------


@pytest.mark.parametrize(
    ("url", "limits"),
    [
        ("http://cimd.test:{port}/id", FetchLimits()),
        ("https://127.0.0.1:{port}/id", FetchLimits()),
        ("https://[::1]:{port}/id", FetchLimits()),
        ("https://10.0.0.1/id", DEV),
        ("https://u:p@cimd.test:{port}/id", DEV),
        ("https://cimd.test:{port}/id#x", DEV),
        ("https://cimd.test:{port}/a/../id", DEV),
        ("https://cimd.test:{port}/a/%2E%2E/id", DEV),
        ("https://cimd.test:{port}/" + "a" * 2100, DEV),
        ("ftp://cimd.test:{port}/id", DEV),
    ],
)
async def test_sec_52_url_shape_is_checked_before_any_network_access(
    listen: Listen, dials: list[tuple[str, int]], url: str, limits: FetchLimits
) -> None:
    listener = await listen()
    resolver = StubResolver(["127.0.0.1"])

    await refused(SafeFetcher(limits, resolver=resolver), url.format(port=listener.port))

    assert resolver.calls == []
    assert dials == []
    assert listener.connections == 0


# --- SEC-53: special-use addresses ----------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "169.254.169.254",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "fe80::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.7",
        "fc00::1",
        "fd12:3456::1",
        "2002:7f00:1::",
        "64:ff9b::a9fe:a9fe",
        "::127.0.0.1",
        "not-an-address",
    ],
)
async def test_sec_53_special_use_addresses_are_refused(
    listen: Listen, dials: list[tuple[str, int]], answer: str
) -> None:
    listener = await listen()
    fetcher = SafeFetcher(resolver=StubResolver([answer]))

    await refused(fetcher, f"https://c.test:{listener.port}/id")

    assert dials == []
    assert listener.connections == 0


async def test_sec_53_one_special_use_answer_refuses_the_host(
    listen: Listen, dials: list[tuple[str, int]]
) -> None:
    listener = await listen()
    fetcher = SafeFetcher(resolver=StubResolver(["93.184.215.14", "127.0.0.1"]))

    await refused(fetcher, f"https://c.test:{listener.port}/id")

    assert dials == []
    assert listener.connections == 0


@pytest.mark.parametrize("answer", ["10.0.0.5", "169.254.169.254", "fe80::1", "100.64.0.1"])
async def test_sec_53_allow_loopback_still_refuses_other_special_use(
    dials: list[tuple[str, int]], answer: str
) -> None:
    await refused(SafeFetcher(DEV, resolver=StubResolver([answer])), "https://c.test/id")

    assert dials == []


async def test_sec_53_plain_http_only_reaches_loopback(dials: list[tuple[str, int]]) -> None:
    fetcher = SafeFetcher(DEV, resolver=StubResolver(["93.184.215.14"]))

    await refused(fetcher, "http://c.test/id")

    assert dials == []


async def test_sec_53_no_answers_is_refused(dials: list[tuple[str, int]]) -> None:
    await refused(SafeFetcher(resolver=StubResolver([])), "https://c.test/id")

    assert dials == []


async def test_sec_53_proxy_environment_is_ignored(
    listen: Listen, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = await listen()
    target = await listen()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")

    await SafeFetcher(DEV, resolver=StubResolver()).get_json(f"http://cimd.test:{target.port}/id")

    assert (proxy.connections, target.connections) == (0, 1)


# --- SEC-54: DNS rebinding --------------------------------------------------------------------


async def test_sec_54_rebinding_cannot_redirect_the_connection(
    listen: Listen, dials: list[tuple[str, int]]
) -> None:
    internal = await listen()
    resolver = StubResolver(["93.184.215.14"], ["127.0.0.1"])

    await refused(SafeFetcher(resolver=resolver), f"https://rebind.test:{internal.port}/id")

    assert resolver.calls == [("rebind.test", internal.port)]
    assert dials == [("93.184.215.14", internal.port)]
    assert internal.connections == 0


async def test_sec_54_each_fetch_opens_its_own_connection(listen: Listen) -> None:
    listener = await listen()
    resolver = StubResolver()
    fetcher = SafeFetcher(DEV, resolver=resolver)

    for _ in range(2):
        await fetcher.get_json(f"http://cimd.test:{listener.port}/id")

    assert listener.connections == 2
    assert len(resolver.calls) == 2


def _issue_certificates(directory: Path, host: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and a certificate for ``host``: (server context, client context)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Warden test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    chain = directory / "server.pem"
    chain.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(chain)
    client = ssl.create_default_context(
        cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    return server, client


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]]:
    """TLS for ``cimd.test``, recording the SNI name each client sends."""
    server, client = _issue_certificates(tmp_path, "cimd.test")
    names: list[str | None] = []

    def record(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    server.sni_callback = record
    yield server, client, names


async def test_sec_54_tls_verifies_the_original_host_name(
    listen: Listen, tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]
) -> None:
    server, client, names = tls
    listener = await listen(tls=server)
    fetcher = SafeFetcher(DEV, resolver=StubResolver(), ssl_context=client)

    document = await fetcher.get_json(f"https://cimd.test:{listener.port}/id")

    assert document.body["client_id"] == "https://cimd.test/id"
    assert names == ["cimd.test"]


async def test_sec_54_tls_certificate_for_another_name_is_refused(
    listen: Listen, tls: tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]
) -> None:
    server, client, _ = tls
    listener = await listen(tls=server)
    fetcher = SafeFetcher(DEV, resolver=StubResolver(), ssl_context=client)

    await refused(fetcher, f"https://other.test:{listener.port}/id")

    assert listener.requests == []


# --- SEC-55: no redirects, 200 only -----------------------------------------------------------


@pytest.mark.parametrize("target", ["127.0.0.1", "cimd.test"])
async def test_sec_55_redirect_is_not_followed(listen: Listen, target: str) -> None:
    internal = await listen()
    location = f"Location: http://{target}:{internal.port}/"
    redirecting = await listen(replying(response(b"", status="302 Found", headers=[location])))
    fetcher = SafeFetcher(DEV, resolver=StubResolver())

    await refused(fetcher, f"http://cimd.test:{redirecting.port}/id")

    assert redirecting.connections == 1
    assert internal.connections == 0


@pytest.mark.parametrize("status", ["201 Created", "203 Non-Authoritative", "304 Not Modified"])
async def test_sec_55_only_200_counts(listen: Listen, status: str) -> None:
    listener = await listen(replying(response(status=status)))

    await refused(SafeFetcher(DEV, resolver=StubResolver()), f"http://cimd.test:{listener.port}/")


# --- SEC-56: resource limits ------------------------------------------------------------------


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "close-delimited"])
async def test_sec_56_body_over_5_kb_is_refused(listen: Listen, length: bool) -> None:
    body = b'{"pad": "' + b"x" * 6 * 1024 + b'"}'
    listener = await listen(replying(response(body, length=length)))

    await refused(SafeFetcher(DEV, resolver=StubResolver()), f"http://cimd.test:{listener.port}/")


async def test_sec_56_body_of_exactly_the_cap_is_accepted(listen: Listen) -> None:
    body = b'{"pad": "' + b"x" * (5 * 1024 - 11) + b'"}'
    assert len(body) == 5 * 1024
    listener = await listen(replying(response(body, length=False)))

    document = await SafeFetcher(DEV, resolver=StubResolver()).get_json(
        f"http://cimd.test:{listener.port}/"
    )

    assert len(document.body["pad"]) == 5 * 1024 - 11


async def test_sec_56_trickling_server_is_aborted_at_the_total_deadline(listen: Listen) -> None:
    def trickle(listener: Listener) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await listener.read_head(reader)
            writer.write(response(b"", headers=["Content-Length: 100"], length=False))
            for _ in range(100):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.02)

        return handle

    listener = await listen(trickle)
    limits = FetchLimits(allow_loopback=True, total_timeout_seconds=0.5)
    fetcher = SafeFetcher(limits, resolver=StubResolver())

    started = time.monotonic()
    await refused(fetcher, f"http://cimd.test:{listener.port}/")

    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("body", "coding"),
    [
        (gzip.compress(b'{"pad": "' + b"0" * 1_000_000 + b'"}'), "gzip"),
        (DOCUMENT, "gzip"),
        (DOCUMENT, "identity, gzip"),
    ],
    ids=["bomb", "labelled-gzip", "stacked"],
)
async def test_sec_56_compressed_response_is_refused(
    listen: Listen, body: bytes, coding: str
) -> None:
    assert len(body) < 5 * 1024
    listener = await listen(replying(response(body, headers=[f"Content-Encoding: {coding}"])))

    await refused(SafeFetcher(DEV, resolver=StubResolver()), f"http://cimd.test:{listener.port}/")

    assert b"accept-encoding: identity\r\n" in listener.requests[0].lower()


@pytest.mark.parametrize("content_type", ["text/html", "text/plain", "application/jsonx", ""])
async def test_sec_56_non_json_content_type_is_refused(listen: Listen, content_type: str) -> None:
    listener = await listen(replying(response(content_type=content_type)))

    await refused(SafeFetcher(DEV, resolver=StubResolver()), f"http://cimd.test:{listener.port}/")


async def test_sec_56_concurrent_fetches_are_capped(listen: Listen) -> None:
    release = asyncio.Event()
    two_held = asyncio.Event()
    active = 0
    peak = 0

    def held(listener: Listener) -> Handler:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal active, peak
            await listener.read_head(reader)
            active += 1
            peak = max(peak, active)
            if active == 2:
                two_held.set()
            await release.wait()
            writer.write(response())
            await writer.drain()
            active -= 1

        return handle

    listener = await listen(held)
    fetcher = SafeFetcher(DEV, resolver=StubResolver(), max_concurrent=2)
    url = f"http://cimd.test:{listener.port}/"
    fetches = [asyncio.create_task(fetcher.get_json(url)) for _ in range(3)]
    await two_held.wait()
    await asyncio.sleep(0.05)  # room for a third connection, if the cap did not hold

    assert listener.connections == 2
    release.set()
    assert len(await asyncio.gather(*fetches)) == 3
    assert (listener.connections, peak) == (3, 2)


async def test_closed_fetcher_refuses_to_fetch(listen: Listen) -> None:
    listener = await listen()
    fetcher = SafeFetcher(DEV, resolver=StubResolver())
    await fetcher.aclose()

    await refused(fetcher, f"http://cimd.test:{listener.port}/id")

    assert listener.connections == 0


# --- SEC-61: one generic error ----------------------------------------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"a": 1, "a": 2}',
        b'{"a": NaN}',
        b'{"a": "\xff"}',
        b"[" * 3000 + b"]" * 3000,
    ],
    ids=["syntax", "repeated-member", "nan", "not-utf-8", "too-deep"],
)
async def test_sec_61_invalid_json_is_refused(listen: Listen, body: bytes) -> None:
    listener = await listen(replying(response(body)))
    error = await refused(
        SafeFetcher(DEV, resolver=StubResolver()), f"http://cimd.test:{listener.port}/"
    )

    assert str(error) == FetchError.MESSAGE


async def test_sec_61_failures_are_byte_identical(
    listen: Listen, caplog: pytest.LogCaptureFixture
) -> None:
    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await writer.drain()

    non_http = await listen(lambda _listener: banner)
    not_found = await listen(replying(response(b"{}", status="404 Not Found")))
    invalid = await listen(replying(response(b"{nope")))
    fetcher = SafeFetcher(DEV, resolver=StubResolver())

    errors = []
    with caplog.at_level(logging.WARNING, logger="warden.net"):
        for port in (_closed_port(), non_http.port, not_found.port, invalid.port):
            errors.append(await refused(fetcher, f"http://cimd.test:{port}/id"))

    assert {str(error) for error in errors} == {FetchError.MESSAGE}
    assert {error.args for error in errors} == {(FetchError.MESSAGE,)}
    assert all(error.__cause__ is None and error.__context__ is None for error in errors)
    reasons = [record.getMessage().rsplit(": ", 1)[-1] for record in caplog.records]
    assert len(reasons) == 4
    assert len(set(reasons)) == 4
    assert "status 404" in caplog.records[2].getMessage()
