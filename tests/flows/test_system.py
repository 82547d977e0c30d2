"""``/healthz`` and ``/openapi.json`` over the real app."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from warden.web.context import AppContext

AppFactory = Callable[..., Awaitable[tuple[Any, Any]]]


async def test_healthz_answers_ok_while_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_healthz_is_503_when_the_database_is_gone(
    client: httpx.AsyncClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = create_async_engine("sqlite+aiosqlite:////nonexistent-dir/warden.db")
    monkeypatch.setattr(ctx.db, "engine", broken)
    try:
        response = await client.get("/healthz")
    finally:
        await broken.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


async def test_openapi_describes_the_served_endpoints(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "https://warden.test"}]
    assert "/.well-known/oauth-authorization-server" in doc["paths"]
    assert "/.well-known/openid-configuration" in doc["paths"]
    assert set(doc["paths"]["/healthz"]) == {"get"}
    assert "/openapi.json" in doc["paths"]


async def test_openapi_paths_carry_the_issuer_path(make_app: AppFactory) -> None:
    app, _ = await make_app(issuer="https://warden.test/t1")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://warden.test") as c:
        doc = (await c.get("/t1/openapi.json")).json()
    assert "/.well-known/oauth-authorization-server/t1" in doc["paths"]
    assert "/.well-known/openid-configuration/t1" in doc["paths"]
    assert "/t1/.well-known/openid-configuration" in doc["paths"]
    assert "/t1/healthz" in doc["paths"]
    assert not any(p.startswith("/healthz") for p in doc["paths"])


async def test_registration_is_not_described_when_it_is_closed(make_app: AppFactory) -> None:
    app, _ = await make_app(registration={"enabled": False})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://warden.test") as c:
        doc = (await c.get("/openapi.json")).json()
    assert "/register" not in doc["paths"]


# Browser pages: HTML forms behind CSRF tokens and cookies, not an API (see warden.web.openapi).
UNDOCUMENTED = {
    ("POST", "/login"),
    ("GET", "/consent"),
    ("POST", "/consent"),
    ("POST", "/logout"),
    ("GET", "/account/connections"),
    ("POST", "/account/login"),
    ("POST", "/account/connections/revoke"),
    ("GET", "/device"),
    ("POST", "/device"),
    ("POST", "/device/login"),
    ("POST", "/device/confirm"),
}


def _routed(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    found = set()
    for route in routes:
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles):
                continue
            found |= _routed(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            path = re.sub(r"\{[^}]+\}", "{}", prefix + route.path)
            found |= {(m, path) for m in route.methods or () if m != "HEAD"}
    return found


async def test_every_api_endpoint_is_described(app: Any, client: httpx.AsyncClient) -> None:
    """A new endpoint must be added to warden.web.openapi, and so to the fuzzing."""
    doc = (await client.get("/openapi.json")).json()
    described = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in doc["paths"].items()
        for method in item
    }
    assert _routed(app.routes) - UNDOCUMENTED == described
