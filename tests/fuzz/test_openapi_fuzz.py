"""Fuzz every operation in ``/openapi.json`` (issue 2, item 15): malformed input never yields 500.

schemathesis generates valid and invalid requests from the published document and sends them
to the real ASGI app in process. Each response must not be a server error, must use a status
code and content type the document lists, and must match the documented body schema. The
operations come from the running app's own ``/openapi.json``, which lists only what is routed,
so endpoints are fuzzed as soon as they exist.

The number of examples per operation is bounded (``WARDEN_FUZZ_EXAMPLES``, default 60) so the
suite stays fast in CI; raise it locally for a deeper run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from warden.settings import Settings
from warden.storage.engine import Database
from warden.web.app import create_app
from warden.web.openapi import openapi_document
from warden.web.routes.system import served_paths

EXAMPLES = int(os.environ.get("WARDEN_FUZZ_EXAMPLES", "60"))
ISSUER = "https://warden.test"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _settings(workdir: Path) -> Settings:
    return Settings(
        issuer=ISSUER,
        database_url=f"sqlite+aiosqlite:///{workdir / 'warden.db'}",
        secret_key="fuzz-secret-" + "x" * 40,
        secret_key_file=workdir / "warden.secret",
    )


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """Each routed, documented operation with the modes it can be fuzzed in.

    Negative (schema-violating) cases exist only for operations that take input. Building an
    app opens no database, so this runs at collection time.
    """
    app = create_app(_settings(Path("/nonexistent")))
    document = served_paths(openapi_document(app.state.ctx.settings), app.routes)
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            found.append((method.upper(), path, GenerationMode.POSITIVE))
            if "parameters" in operation or "requestBody" in operation:
                found.append((method.upper(), path, GenerationMode.NEGATIVE))
    return found


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenApiSchema]:
    """One app for the module; schemathesis runs its lifespan on its own event loop."""
    warden = _settings(tmp_path_factory.mktemp("fuzz"))
    asyncio.run(_create_tables(warden.database_url))
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(warden))
    shutdown_lifespans()


async def _create_tables(url: str) -> None:
    db = Database(url)
    try:
        await db.create_all()
    finally:
        await db.dispose()


@pytest.mark.parametrize(("method", "path", "mode"), _operations())
def test_no_input_produces_a_server_error(
    api_schema: OpenApiSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=ISSUER, checks=CHECKS)

    run()


def test_every_documented_operation_is_fuzzed() -> None:
    """Guards the parametrisation: the discovery documents and system endpoints at least."""
    operations = {(method, path) for method, path, _ in _operations()}
    assert ("GET", "/.well-known/oauth-authorization-server") in operations
    assert ("GET", "/healthz") in operations
