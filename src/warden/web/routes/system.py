"""Operational endpoints: ``/healthz`` and ``/openapi.json``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope

from warden.web.adapters import NO_STORE
from warden.web.context import AppContext
from warden.web.openapi import openapi_document

__all__ = ["HEALTH_TIMEOUT_SECONDS", "routes", "served_paths"]

log = logging.getLogger("warden.web")

HEALTH_TIMEOUT_SECONDS = 2.0


def routes(ctx: AppContext) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        """200 while the database answers ``SELECT 1``; 503 otherwise, for load balancers."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                async with ctx.db.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:
            log.warning("health check: the database does not answer", exc_info=True)
            return JSONResponse({"status": "unavailable"}, status_code=503, headers=NO_STORE)
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    document: dict[str, Any] = {}

    async def openapi(request: Request) -> Response:
        if not document:
            document.update(served_paths(openapi_document(ctx.settings), request.app.routes))
        return JSONResponse(document)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]


def served_paths(document: dict[str, Any], app_routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The document without the operations this app does not route.

    Endpoints can be switched off by settings (registration), and this keeps the published
    description, and the fuzzing driven by it, true to the running server.
    """
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        kept = {
            method: operation
            for method, operation in item.items()
            if _routed(app_routes, _sample(path), method.upper())
        }
        if kept:
            paths[path] = kept
    return {**document, "paths": paths}


def _sample(template: str) -> str:
    """A concrete path for an OpenAPI path template: ``/register/{client_id}`` → ``/register/x``."""
    return "/".join("x" if part.startswith("{") else part for part in template.split("/"))


def _routed(app_routes: Sequence[BaseRoute], path: str, method: str) -> bool:
    scope: Scope = {"type": "http", "path": path, "root_path": "", "method": method}
    return _matches(app_routes, scope)


def _matches(app_routes: Sequence[BaseRoute], scope: Scope) -> bool:
    for route in app_routes:
        match, child_scope = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            if _matches(route.routes, {**scope, **child_scope}):
                return True
        elif match is Match.FULL:
            return True
    return False
