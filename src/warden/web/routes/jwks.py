"""The JWK Set of Warden's signing keys (RFC 7517 §5), served at ``<issuer>/jwks.json``.

Every key that still verifies is listed, so tokens signed before a rotation keep validating
during the overlap (SEC-110). The document is cached briefly (``max-age=300``) so resource
servers pick up a rotation within minutes; a resource server that meets an unknown ``kid``
refetches sooner (SEC-81). Browser-based MCP clients read it cross-origin, so it is open to
every origin: it holds public keys only.

:func:`signing_keys` loads the keys when the app starts (creating the first one on a fresh
database) and runs :func:`keep_keys_fresh` for the life of the app: each worker re-reads the
keys every ``tokens.key_refresh_seconds``, so ``warden keys rotate`` or ``retire`` in another
process reaches every worker without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from warden.web.context import AppContext

__all__ = ["JWKS_PATH", "keep_keys_fresh", "routes", "signing_keys"]

log = logging.getLogger("warden")

JWKS_PATH = "/jwks.json"

_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Access-Control-Allow-Origin": "*",
}


def routes(ctx: AppContext) -> list[BaseRoute]:
    async def jwks(request: Request) -> Response:
        return JSONResponse(
            ctx.keyring.jwks(), headers=_HEADERS, media_type="application/jwk-set+json"
        )

    return [Route(JWKS_PATH, jwks, methods=["GET"])]


@asynccontextmanager
async def signing_keys(ctx: AppContext) -> AsyncIterator[None]:
    """Load the key ring, then keep it fresh until the app stops."""
    async with ctx.db.unit_of_work() as stores:
        await ctx.keyring.load(stores.keys)
    refresher = asyncio.create_task(keep_keys_fresh(ctx))
    try:
        yield
    finally:
        refresher.cancel()
        with suppress(asyncio.CancelledError):
            await refresher


async def keep_keys_fresh(
    ctx: AppContext, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> None:
    """Reload the key ring every ``tokens.key_refresh_seconds`` until cancelled.

    A failed reload (database briefly away) is logged and the loaded keys stay in use.
    """
    interval = ctx.settings.tokens.key_refresh_seconds
    while True:
        await sleep(interval)
        try:
            async with ctx.db.unit_of_work() as stores:
                await ctx.keyring.load(stores.keys)
        except Exception:
            log.exception("reloading the signing keys failed; keeping the loaded ones")
