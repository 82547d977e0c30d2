"""CORS only where browsers call (SEC-115, mcp-auth P7) and hardening headers (SEC-114)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

AppFactory = Callable[..., Awaitable[tuple[Any, Any]]]
ORIGIN = {"Origin": "https://inspector.example"}
PREFLIGHT = {**ORIGIN, "Access-Control-Request-Method": "POST"}

CORS_PATHS = [
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/oauth-protected-resource"),  # a 404 fall-through
    ("GET", "/jwks.json"),
    ("POST", "/register"),
    ("GET", "/register/some-client"),
    ("DELETE", "/register/some-client"),
    ("POST", "/token"),
    ("POST", "/revoke"),
    ("POST", "/introspect"),
]
FRONT_CHANNEL = ["/authorize", "/login", "/consent", "/logout"]


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="https://warden.test")


@pytest.mark.parametrize(("method", "path"), CORS_PATHS)
async def test_sec_115_machine_endpoints_allow_any_origin_without_credentials(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    """Also on error answers and 404s: the browser must be able to read the error."""
    response = await client.request(method, path, headers=ORIGIN)
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert "WWW-Authenticate" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/token", "POST, OPTIONS"),
        ("/register", "POST, OPTIONS"),
        ("/register/abc", "GET, PUT, DELETE, OPTIONS"),
        ("/jwks.json", "GET, OPTIONS"),
        ("/.well-known/oauth-authorization-server", "GET, OPTIONS"),
    ],
)
async def test_sec_115_preflight_is_answered(
    client: httpx.AsyncClient, path: str, methods: str
) -> None:
    response = await client.options(
        path, headers={**PREFLIGHT, "Access-Control-Request-Headers": "mcp-protocol-version"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == methods
    allowed = response.headers["access-control-allow-headers"]
    assert allowed == "Authorization, Content-Type, MCP-Protocol-Version"
    assert int(response.headers["access-control-max-age"]) > 0
    assert "access-control-allow-credentials" not in response.headers
    assert response.content == b""


@pytest.mark.parametrize("path", FRONT_CHANNEL)
async def test_sec_115_never_cors_on_front_channel(client: httpx.AsyncClient, path: str) -> None:
    preflight = await client.options(path, headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    response = await client.get(path, headers=ORIGIN)
    assert "access-control-allow-origin" not in response.headers


async def test_sec_115_front_channel_lookalikes_get_no_cors(client: httpx.AsyncClient) -> None:
    for path in ("/token-x", "/registerx", "/authorize/.well-known/x", "/x/token"):
        response = await client.get(path, headers=ORIGIN)
        assert "access-control-allow-origin" not in response.headers, path


async def test_sec_115_cors_follows_a_path_issuer(make_app: AppFactory) -> None:
    app, _ = await make_app(issuer="https://warden.test/t1")
    async with _client(app) as c:
        token = await c.post("/t1/token", headers=ORIGIN)
        root_token = await c.post("/token", headers=ORIGIN)
        oidc = await c.get("/t1/.well-known/openid-configuration", headers=ORIGIN)
        authorize = await c.options("/t1/authorize", headers=PREFLIGHT)
    assert token.headers["access-control-allow-origin"] == "*"
    assert oidc.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in root_token.headers
    assert "access-control-allow-origin" not in authorize.headers


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/authorize", "/x"])
async def test_sec_114_every_response_is_hardened(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_sec_114_no_hsts_on_a_plain_http_development_issuer(make_app: AppFactory) -> None:
    app, _ = await make_app(issuer="http://127.0.0.1:8000")
    async with _client(app) as c:
        response = await c.get("/.well-known/oauth-authorization-server")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers
