"""Client ID Metadata Documents (SEC-52, SEC-57..SEC-59, SEC-61, SEC-62) against a local server.

The documents are served over plain http by a listener on 127.0.0.1; a stub resolver maps
``client.test`` to it, and ``cimd.allow_loopback`` (development only) lets the fetcher connect.
Everything else (the SSRF guard, caching headers, the store) is the real thing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from warden.clock import FrozenClock
from warden.errors import TooManyRequestsError
from warden.net import FetchedDocument, FetchError
from warden.oauth.clients import ClientDirectory
from warden.oauth.model import Client, Consent
from warden.web.context import AppContext

HOST = "client.test"


class StubResolver:
    """Every name is the local listener."""

    async def resolve(self, host: str, port: int) -> list[str]:
        return ["127.0.0.1"]


@dataclass
class Reply:
    body: Any
    status: str = "200 OK"
    headers: tuple[str, ...] = ()
    content_type: str = "application/json"


@dataclass
class DocumentServer:
    """Serves ``documents[path]``; counts the requests for each path."""

    port: int = 0
    documents: dict[str, Reply] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, host: str = HOST) -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body: Any = None, **reply: Any) -> str:
        """Serve a document at ``path``; by default a valid one naming its own URL."""
        url = self.url(path)
        self.documents[path] = Reply(body if body is not None else document(url), **reply)
        return url

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1].decode()
        self.hits[path] = self.hits.get(path, 0) + 1
        reply = self.documents.get(path, Reply({"error": "not found"}, status="404 Not Found"))
        body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        lines = [
            f"HTTP/1.1 {reply.status}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *reply.headers,
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        writer.close()


def document(url: str, **fields: Any) -> dict[str, Any]:
    return {
        "client_id": url,
        "client_name": "Doc Agent",
        "redirect_uris": ["http://localhost/callback", f"https://{HOST}/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **fields,
    }


@pytest.fixture
async def server() -> AsyncIterator[DocumentServer]:
    srv = DocumentServer()
    listener = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.port = listener.sockets[0].getsockname()[1]
    yield srv
    listener.close()
    await listener.wait_closed()


async def _directory_app(make_app: Any, **cimd: Any) -> AppContext:
    _, ctx = await make_app(cimd={"allow_loopback": True, **cimd})
    await ctx.clients.aclose()
    ctx.clients = ClientDirectory.from_settings(
        ctx.settings,
        scopes=ctx.scopes,
        limiter=ctx.limiter,
        clock=ctx.clock,
        resolver=StubResolver(),
    )
    return ctx


@pytest.fixture
async def cimd_ctx(make_app: Any) -> AppContext:
    return await _directory_app(make_app)


async def find(ctx: AppContext, client_id: str, *, with_consents: bool = True) -> Client | None:
    async with ctx.db.unit_of_work() as stores:
        consents = stores.consents if with_consents else None
        return await ctx.clients.find(client_id, stores.clients, consents)


async def stored(ctx: AppContext, client_id: str) -> Client | None:
    async with ctx.db.unit_of_work() as stores:
        return await stores.clients.get(client_id)


# --- a valid document -----------------------------------------------------------------------


async def test_valid_document_becomes_a_client(
    cimd_ctx: AppContext, server: DocumentServer
) -> None:
    url = server.serve("/cid")
    client = await find(cimd_ctx, url)
    assert client is not None
    assert client.client_id == url
    assert client.origin == "cimd"
    assert client.kind == "agent"
    assert client.token_endpoint_auth_method == "none"
    assert client.redirect_uris == ("http://localhost/callback", f"https://{HOST}/cb")
    assert client.client_name == "Doc Agent"
    assert await stored(cimd_ctx, url) == client


async def test_unknown_fields_are_ignored_not_kept(
    cimd_ctx: AppContext, server: DocumentServer
) -> None:
    url = server.url("/cid")
    server.serve("/cid", document(url, frobnicate={"x": 1}, client_name_fr="Agent"))
    client = await find(cimd_ctx, url)
    assert client is not None
    assert "frobnicate" not in client.metadata
    assert "client_name_fr" not in client.metadata


async def test_auth_method_defaults_to_none(cimd_ctx: AppContext, server: DocumentServer) -> None:
    url = server.url("/cid")
    body = document(url)
    del body["token_endpoint_auth_method"]
    server.serve("/cid", body)
    client = await find(cimd_ctx, url)
    assert client is not None and client.is_public


# --- SEC-57, SEC-58: document rules ---------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "http://client.test/other"},
        {"client_id": None},
        {"redirect_uris": []},
        {"redirect_uris": None},
        {"client_secret": "s3cret"},
        {"token_endpoint_auth_method": "client_secret_basic"},
        {"token_endpoint_auth_method": "client_secret_post"},
        {"token_endpoint_auth_method": ["none"]},
        {"redirect_uris": [{"uri": "http://localhost/cb"}]},
        {"redirect_uris": "http://localhost/cb"},
        {"redirect_uris": ["https://evil.example/cb"]},
        {"redirect_uris": ["http://evil.example/cb"]},
        {"redirect_uris": ["com.evil.app:/cb"], "application_type": "native"},
        {"scope": "admin"},
        {"client_kind": "app"},
    ],
)
async def test_sec_57_sec_58_invalid_documents_are_refused(
    cimd_ctx: AppContext, server: DocumentServer, change: dict[str, Any]
) -> None:
    url = server.url("/cid")
    body = {k: v for k, v in {**document(url), **change}.items() if v is not None}
    server.serve("/cid", body)
    assert await find(cimd_ctx, url) is None
    assert await stored(cimd_ctx, url) is None


async def test_sec_57_trailing_slash_mismatch_is_refused(
    cimd_ctx: AppContext, server: DocumentServer
) -> None:
    url = server.url("/cid")
    server.serve("/cid", document(url + "/"))
    assert await find(cimd_ctx, url) is None


async def test_sec_58_reversed_domain_scheme_is_allowed(
    cimd_ctx: AppContext, server: DocumentServer
) -> None:
    url = server.url("/cid")
    server.serve(
        "/cid",
        document(url, redirect_uris=["test.client:/cb"], application_type="native"),
    )
    client = await find(cimd_ctx, url)
    assert client is not None
    assert client.redirect_uris == ("test.client:/cb",)


async def test_sec_58_display_urls_on_the_client_id_host_are_kept(
    cimd_ctx: AppContext, server: DocumentServer
) -> None:
    url = server.url("/cid")
    server.serve(
        "/cid",
        document(
            url,
            redirect_uris=["http://127.0.0.1/cb"],
            logo_uri=f"https://{HOST}/logo.png",
            tos_uri="https://elsewhere.example/tos",
        ),
    )
    client = await find(cimd_ctx, url)
    assert client is not None
    assert client.metadata["logo_uri"] == f"https://{HOST}/logo.png"
    assert "tos_uri" not in client.metadata


# --- SEC-52: URL shape, before any fetch ----------------------------------------------------


class SpyFetcher:
    def __init__(self) -> None:
        self.urls: list[str] = []

    async def get_json(self, url: str) -> FetchedDocument:
        self.urls.append(url)
        raise FetchError


@pytest.mark.parametrize(
    "client_id",
    [
        "http://c.example/id",
        "https://c.example",
        "https://c.example/",
        "https://c.example/a/../id",
        "https://u:p@c.example/id",
        "https://c.example/id#x",
        "https://c.example/id?x=1",
        "https://10.0.0.1/id",
        "https://[::1]/id",
        "https://c.example/" + "a" * 3000,
    ],
)
async def test_sec_52_url_shape_is_checked_before_any_fetch(make_app: Any, client_id: str) -> None:
    _, ctx = await make_app()
    spy = SpyFetcher()
    await ctx.clients.aclose()
    ctx.clients = ClientDirectory.from_settings(
        ctx.settings, scopes=ctx.scopes, limiter=ctx.limiter, clock=ctx.clock, fetcher=spy
    )
    assert await find(ctx, client_id) is None
    assert spy.urls == []


async def test_https_client_id_is_fetched(make_app: Any) -> None:
    _, ctx = await make_app()
    spy = SpyFetcher()
    ctx.clients = ClientDirectory.from_settings(
        ctx.settings, scopes=ctx.scopes, limiter=ctx.limiter, clock=ctx.clock, fetcher=spy
    )
    assert await find(ctx, "https://c.example/id") is None
    assert spy.urls == ["https://c.example/id"]


async def test_cimd_can_be_disabled(make_app: Any) -> None:
    _, ctx = await make_app(cimd={"enabled": False})
    spy = SpyFetcher()
    ctx.clients = ClientDirectory.from_settings(
        ctx.settings, scopes=ctx.scopes, limiter=ctx.limiter, clock=ctx.clock, fetcher=spy
    )
    assert await find(ctx, "https://c.example/id") is None
    assert spy.urls == []


# --- SEC-59: caching, errors, per-host limit ------------------------------------------------


async def test_cache_honours_max_age(
    cimd_ctx: AppContext, server: DocumentServer, clock: FrozenClock
) -> None:
    url = server.serve("/cid", headers=("Cache-Control: max-age=600",))
    assert await find(cimd_ctx, url) is not None
    clock.advance(599)
    assert await find(cimd_ctx, url) is not None
    assert server.hits["/cid"] == 1
    clock.advance(2)
    assert await find(cimd_ctx, url) is not None
    assert server.hits["/cid"] == 2


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("max-age=10", 300),
        ("no-store", 300),
        (None, 300),
        ("max-age=999999", 86_400),
    ],
)
async def test_cache_lifetime_is_clamped(
    cimd_ctx: AppContext,
    server: DocumentServer,
    clock: FrozenClock,
    cache_control: str | None,
    lifetime: int,
) -> None:
    headers = (f"Cache-Control: {cache_control}",) if cache_control else ()
    url = server.serve("/cid", headers=headers)
    await find(cimd_ctx, url)
    clock.advance(lifetime - 1)
    await find(cimd_ctx, url)
    assert server.hits["/cid"] == 1
    clock.advance(2)
    await find(cimd_ctx, url)
    assert server.hits["/cid"] == 2


async def test_sec_59_errors_are_not_cached(cimd_ctx: AppContext, server: DocumentServer) -> None:
    url = server.serve("/cid", {"error": "boom"}, status="500 Internal Server Error")
    assert await find(cimd_ctx, url) is None
    server.serve("/cid")
    assert await find(cimd_ctx, url) is not None
    assert server.hits["/cid"] == 2


async def test_sec_59_invalid_documents_are_not_cached(
    cimd_ctx: AppContext, server: DocumentServer
) -> None:
    url = server.serve("/cid", document("http://elsewhere.test/cid"))
    assert await find(cimd_ctx, url) is None
    assert await find(cimd_ctx, url) is None
    assert server.hits["/cid"] == 2


async def test_sec_59_fetches_per_host_are_limited(
    make_app: Any, server: DocumentServer, clock: FrozenClock
) -> None:
    ctx = await _directory_app(make_app, fetches_per_host_per_minute=3)
    urls = [server.serve(f"/cid{i}") for i in range(5)]
    for url in urls[:3]:
        assert await find(ctx, url) is not None
    with pytest.raises(TooManyRequestsError) as info:
        await find(ctx, urls[3])
    assert 0 < info.value.retry_after_seconds <= 60
    assert sum(server.hits.values()) == 3
    # Cached documents are still served; another host has its own budget.
    assert await find(ctx, urls[0]) is not None
    other = server.url("/other", host="other.test")
    server.documents["/other"] = Reply(document(other, redirect_uris=["http://localhost/cb"]))
    assert await find(ctx, other) is not None
    clock.advance(60)
    assert await find(ctx, urls[3]) is not None


# --- SEC-61: one generic failure ------------------------------------------------------------


async def test_sec_61_failures_look_the_same(cimd_ctx: AppContext, server: DocumentServer) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    closed_port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    server.documents["/bad-json"] = Reply(b"{not json")
    server.documents["/html"] = Reply(b"<html></html>", content_type="text/html")
    failing = [
        f"http://{HOST}:{closed_port}/cid",
        server.url("/missing"),
        server.url("/bad-json"),
        server.url("/html"),
    ]
    assert [await find(cimd_ctx, url) for url in failing] == [None] * 4


# --- SEC-62: a changed document drops consent -----------------------------------------------


async def _consent(ctx: AppContext, client_id: str) -> None:
    now = ctx.clock.now()
    async with ctx.db.unit_of_work() as stores:
        await stores.consents.put(
            Consent(
                user_id="usr_alice",
                client_id=client_id,
                scopes=frozenset({"read:calendar"}),
                resources=frozenset(),
                redirect_uri=f"https://{HOST}/cb",
                granted_at=now,
                updated_at=now,
            )
        )


async def _has_consent(ctx: AppContext, client_id: str) -> bool:
    async with ctx.db.unit_of_work() as stores:
        return await stores.consents.get("usr_alice", client_id) is not None


async def test_sec_62_changed_redirect_uris_drop_consent(
    cimd_ctx: AppContext, server: DocumentServer, clock: FrozenClock
) -> None:
    url = server.serve("/cid")
    await find(cimd_ctx, url)
    await _consent(cimd_ctx, url)

    server.serve("/cid", document(url, client_name="Renamed Agent"))
    clock.advance(301)
    assert await find(cimd_ctx, url) is not None
    assert await _has_consent(cimd_ctx, url)

    server.serve("/cid", document(url, redirect_uris=[f"https://{HOST}/new-cb"]))
    clock.advance(301)
    client = await find(cimd_ctx, url)
    assert client is not None and client.redirect_uris == (f"https://{HOST}/new-cb",)
    assert not await _has_consent(cimd_ctx, url)


async def test_sec_62_change_seen_without_consents_store_is_not_lost(
    cimd_ctx: AppContext, server: DocumentServer, clock: FrozenClock
) -> None:
    url = server.serve("/cid")
    await find(cimd_ctx, url)
    await _consent(cimd_ctx, url)
    server.serve("/cid", document(url, redirect_uris=[f"https://{HOST}/new-cb"]))
    clock.advance(301)
    # The token endpoint looks clients up without the consent store: it gets the new
    # document, but the cache keeps the old one so the change is still detected later.
    client = await find(cimd_ctx, url, with_consents=False)
    assert client is not None and client.redirect_uris == (f"https://{HOST}/new-cb",)
    assert await _has_consent(cimd_ctx, url)
    await find(cimd_ctx, url)
    assert not await _has_consent(cimd_ctx, url)


# --- directory behaviour --------------------------------------------------------------------


async def test_registered_clients_are_read_from_the_store_and_touched(
    cimd_ctx: AppContext, clock: FrozenClock
) -> None:
    async with cimd_ctx.db.unit_of_work() as stores:
        await stores.clients.add(
            Client(
                client_id="dyn_1",
                origin="dynamic",
                kind="agent",
                token_endpoint_auth_method="none",
                redirect_uris=("https://app.example/cb",),
                grant_types=("authorization_code",),
                created_at=clock.now(),
            )
        )
    assert (await find(cimd_ctx, "dyn_1")) is not None
    first = await stored(cimd_ctx, "dyn_1")
    assert first is not None and first.last_used_at == clock.now()
    clock.advance(600)
    await find(cimd_ctx, "dyn_1")
    again = await stored(cimd_ctx, "dyn_1")
    assert again is not None and again.last_used_at == first.last_used_at  # within the hour
    clock.advance(3600)
    await find(cimd_ctx, "dyn_1")
    later = await stored(cimd_ctx, "dyn_1")
    assert later is not None and later.last_used_at == clock.now()
    assert await find(cimd_ctx, "nope") is None
