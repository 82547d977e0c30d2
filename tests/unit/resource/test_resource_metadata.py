"""RFC 9728 Protected Resource Metadata: the document, its URL, and the endpoint serving it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from warden.resource.metadata import ProtectedResourceMetadata, ProtectedResourceMetadataApp

ISSUER = "https://as.example"


def metadata(**overrides: Any) -> ProtectedResourceMetadata:
    values: dict[str, Any] = {
        "resource": "https://rs.example/mcp",
        "authorization_servers": [ISSUER],
        "scopes_supported": ["read:calendar:next-7-days"],
        "resource_name": "Calendar",
    }
    values.update(overrides)
    return ProtectedResourceMetadata(**values)


def test_document_keeps_strings_exactly() -> None:
    document = metadata(resource="https://rs.example", authorization_servers=ISSUER).to_dict()

    assert document == {
        "resource": "https://rs.example",
        "authorization_servers": ["https://as.example"],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["read:calendar:next-7-days"],
        "resource_name": "Calendar",
    }


def test_optional_members_and_extra() -> None:
    document = metadata(
        resource_documentation="https://rs.example/docs",
        extra={"resource_signing_alg_values_supported": ["ES256"]},
    ).to_dict()

    assert document["resource_documentation"] == "https://rs.example/docs"
    assert document["resource_signing_alg_values_supported"] == ["ES256"]


@pytest.mark.parametrize(
    ("resource", "url", "paths"),
    [
        (
            "https://rs.example/mcp",
            "https://rs.example/.well-known/oauth-protected-resource/mcp",
            ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"),
        ),
        (
            "https://rs.example",
            "https://rs.example/.well-known/oauth-protected-resource",
            ("/.well-known/oauth-protected-resource",),
        ),
        (
            "https://rs.example/",
            "https://rs.example/.well-known/oauth-protected-resource",
            ("/.well-known/oauth-protected-resource",),
        ),
        (
            "http://127.0.0.1:8101/a/mcp/",
            "http://127.0.0.1:8101/.well-known/oauth-protected-resource/a/mcp/",
            (
                "/.well-known/oauth-protected-resource/a/mcp/",
                "/.well-known/oauth-protected-resource",
            ),
        ),
    ],
)
def test_well_known_url_is_path_inserted(resource: str, url: str, paths: tuple[str, ...]) -> None:
    prm = metadata(resource=resource)

    assert prm.url == url
    assert prm.paths == paths
    assert prm.to_dict()["resource"] == resource


@pytest.mark.parametrize(
    "overrides",
    [
        {"scopes_supported": ["read:calendar", "offline_access"]},  # RS10
        {"scopes_supported": ["has space"]},
        {"scopes_supported": "read:calendar"},
        {"resource": "http://rs.example/mcp"},
        {"resource": "https://rs.example/mcp#frag"},
        {"resource": "https://user@rs.example/mcp"},
        {"resource": "rs.example/mcp"},
        {"authorization_servers": []},
        {"authorization_servers": ["https://as.example?tenant=1"]},
        {"authorization_servers": ["http://as.example"]},
        {"resource_documentation": "javascript:alert(1)"},
        {"extra": {"resource": "https://evil.example"}},
    ],
)
def test_bad_documents_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        metadata(**overrides)


async def fetch(app: ProtectedResourceMetadataApp, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://rs.example") as client:
        return await client.request(method, path, headers={"origin": "https://web.example"})


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
)
async def test_app_serves_both_paths_with_cors(path: str) -> None:
    prm = metadata()

    response = await fetch(ProtectedResourceMetadataApp(prm), "GET", path)

    assert response.status_code == 200
    assert response.json() == prm.to_dict()
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/json"


async def test_app_answers_preflight_and_refuses_other_methods() -> None:
    app = ProtectedResourceMetadataApp(metadata())
    path = "/.well-known/oauth-protected-resource/mcp"

    preflight = await fetch(app, "OPTIONS", path)
    post = await fetch(app, "POST", path)

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "GET" in preflight.headers["access-control-allow-methods"]
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD, OPTIONS"


async def test_app_404_carries_cors() -> None:
    response = await fetch(ProtectedResourceMetadataApp(metadata()), "GET", "/elsewhere")

    assert response.status_code == 404
    assert response.headers["access-control-allow-origin"] == "*"
