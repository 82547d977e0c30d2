"""The OpenAPI document: well-formed, and true to the routes the app serves."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.routing import Mount, Route, Router

from warden.settings import Settings
from warden.web.openapi import openapi_document
from warden.web.routes.system import served_paths


async def _endpoint(request: object) -> Response:
    return Response()


def _settings(tmp_path: Path, issuer: str = "https://warden.test") -> Settings:
    return Settings(issuer=issuer, secret_key_file=tmp_path / "s")


def test_every_operation_has_an_id_and_responses(tmp_path: Path) -> None:
    doc = openapi_document(_settings(tmp_path))
    ids = []
    for item in doc["paths"].values():
        for operation in item.values():
            ids.append(operation["operationId"])
            assert operation["responses"]
            assert "500" not in operation["responses"]
    assert len(ids) == len(set(ids))


def test_every_reference_resolves(tmp_path: Path) -> None:
    doc = openapi_document(_settings(tmp_path))
    schemas = doc["components"]["schemas"]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.removeprefix("#/components/schemas/") in schemas, ref
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


def test_served_paths_keeps_only_routed_operations(tmp_path: Path) -> None:
    doc = openapi_document(_settings(tmp_path, "https://warden.test/t1"))
    routes = [
        Route("/.well-known/oauth-authorization-server/t1", _endpoint, methods=["GET"]),
        Mount(
            "/t1",
            app=Router(
                [
                    Route("/token", _endpoint, methods=["POST"]),
                    Route("/register/{cid}", _endpoint, methods=["GET", "DELETE"]),
                ]
            ),
        ),
    ]
    served = served_paths(doc, routes)["paths"]
    assert set(served) == {
        "/.well-known/oauth-authorization-server/t1",
        "/t1/token",
        "/t1/register/{client_id}",
    }
    assert set(served["/t1/register/{client_id}"]) == {"get", "delete"}
