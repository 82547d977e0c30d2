"""Routes: Dynamic Client Registration (RFC 7591 §3) and its management (RFC 7592 §2).

``POST /register`` and ``GET``/``PUT``/``DELETE /register/{client_id}``, JSON in and out, with
``Cache-Control: no-store`` (the responses carry secrets). Errors are the registry's JSON
errors, rendered by the app's exception handler. :func:`reaping` runs the idle-client reaper
for the life of the app.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from warden.errors import InvalidClientMetadataError
from warden.oauth.client_information import Registration
from warden.web.adapters import NO_STORE, json_response
from warden.web.context import AppContext
from warden.web.housekeeping import every

__all__ = ["REGISTER_PATH", "reap_once", "reaping", "routes"]

log = logging.getLogger("warden")

REGISTER_PATH = "/register"
_JSON = "application/json"


def routes(ctx: AppContext) -> list[BaseRoute]:
    if not ctx.settings.registration.enabled:
        return []

    async def register(request: Request) -> Response:
        body = await _json_body(request, ctx.settings.registration.max_body_bytes)
        async with ctx.db.unit_of_work() as stores:
            result = await ctx.registrar.register(
                body,
                stores=stores,
                source=request.client.host if request.client else None,
                authorization=request.headers.get("authorization"),
            )
        return _client_response(ctx, result, status_code=201)

    async def manage(request: Request) -> Response:
        client_id = request.path_params["client_id"]
        authorization = request.headers.get("authorization")
        async with ctx.db.unit_of_work() as stores:
            if request.method == "DELETE":
                await ctx.registrar.delete(client_id, stores=stores, authorization=authorization)
                return Response(status_code=204, headers=NO_STORE)
            if request.method == "PUT":
                body = await _json_body(request, ctx.settings.registration.max_body_bytes)
                result = await ctx.registrar.update(
                    client_id, body, stores=stores, authorization=authorization
                )
            else:
                result = await ctx.registrar.read(
                    client_id, stores=stores, authorization=authorization
                )
        return _client_response(ctx, result)

    return [
        Route(REGISTER_PATH, register, methods=["POST"]),
        Route(REGISTER_PATH + "/{client_id}", manage, methods=["GET", "PUT", "DELETE"]),
    ]


def _client_response(ctx: AppContext, result: Registration, status_code: int = 200) -> Response:
    uri = ctx.settings.endpoint(f"{REGISTER_PATH}/{result.client.client_id}")
    return json_response(result.to_dict(uri), status_code=status_code)


async def _json_body(request: Request, max_bytes: int) -> bytes:
    """The raw JSON body, capped while streaming (SEC-47)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _JSON:
        raise InvalidClientMetadataError("The request body must be application/json")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise InvalidClientMetadataError("The request body is too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def reap_once(ctx: AppContext) -> list[str]:
    """One pass of the reaper: delete dynamic clients idle for ``idle_reap_seconds``."""
    async with ctx.db.unit_of_work() as stores:
        reaped = await ctx.registrar.reap(stores)
    if reaped:
        log.info("reaped %d idle dynamic clients", len(reaped))
    return reaped


def reaping(ctx: AppContext) -> AbstractAsyncContextManager[None]:
    """Reap idle dynamic clients every ``reap_interval_seconds`` until the app stops."""
    seconds = ctx.settings.registration.reap_interval_seconds
    return every(seconds, lambda: reap_once(ctx), "reaping idle clients")
