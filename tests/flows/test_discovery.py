"""Discovery over the real app: RFC 8414 §3 locations, path insertion, no redirects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

AppFactory = Callable[..., Awaitable[tuple[Any, Any]]]

OAUTH = "/.well-known/oauth-authorization-server"
OIDC = "/.well-known/openid-configuration"


def _client(app: object, base_url: str = "https://warden.test") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.mark.parametrize("path", [OAUTH, OIDC])
async def test_root_issuer_documents(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["issuer"] == "https://warden.test"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["authorization_response_iss_parameter_supported"] is True


async def test_oidc_document_has_the_fields_the_ts_sdk_requires(client: httpx.AsyncClient) -> None:
    body = (await client.get(OIDC)).json()
    assert body["subject_types_supported"] == ["public"]
    assert body["id_token_signing_alg_values_supported"]
    assert body["jwks_uri"] == "https://warden.test/jwks.json"
    assert body["response_types_supported"] == ["code"]


@pytest.mark.parametrize("path", [f"{OAUTH}/t1", f"{OIDC}/t1", f"/t1{OIDC}"])
async def test_path_issuer_is_served_at_every_probed_location(
    make_app: AppFactory, path: str
) -> None:
    """RFC 8414 §3.1 path insertion plus both OIDC forms (mcp-auth C2, P2), same issuer."""
    app, _ = await make_app(issuer="https://warden.test/t1")
    async with _client(app) as c:
        response = await c.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "https://warden.test/t1"
    assert body["authorization_endpoint"] == "https://warden.test/t1/authorize"


@pytest.mark.parametrize("path", [OAUTH, OIDC, f"{OAUTH}/t1/", f"{OAUTH}/t2", f"/t1{OAUTH}"])
async def test_path_issuer_serves_nothing_elsewhere_and_never_redirects(
    make_app: AppFactory, path: str
) -> None:
    """A root document would name another issuer; clients skip 3xx on discovery (P2)."""
    app, _ = await make_app(issuer="https://warden.test/t1")
    async with _client(app) as c:
        response = await c.get(path)
    assert response.status_code == 404


async def test_root_issuer_has_no_trailing_slash_variant(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{OAUTH}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.test"},
        {"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "http"},
        {"Forwarded": "host=evil.test;proto=http"},
    ],
)
async def test_sec_114_host_headers_do_not_change_the_issuer(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get(OAUTH, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == "https://warden.test"
    assert "evil.test" not in response.text


async def test_sec_114_other_base_url_does_not_change_the_issuer(
    app: object,
) -> None:
    async with _client(app, base_url="http://evil.test:8080") as c:
        body = (await c.get(OAUTH)).json()
    assert body["issuer"] == "https://warden.test"
    assert body["token_endpoint"] == "https://warden.test/token"


async def test_registration_endpoint_absent_when_registration_is_closed(
    make_app: AppFactory,
) -> None:
    app, _ = await make_app(registration={"enabled": False})
    async with _client(app) as c:
        body = (await c.get(OAUTH)).json()
    assert "registration_endpoint" not in body


async def test_metadata_is_cacheable_and_only_get(client: httpx.AsyncClient) -> None:
    response = await client.get(OAUTH)
    assert "max-age" in response.headers["cache-control"]
    assert (await client.post(OAUTH)).status_code == 405
