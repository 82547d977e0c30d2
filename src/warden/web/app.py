"""The ASGI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Router

from warden.clock import Clock
from warden.errors import OAuthError
from warden.settings import Settings
from warden.web import adapters, housekeeping
from warden.web.context import AppContext, build_context
from warden.web.middleware import CorsMiddleware, SecurityHeadersMiddleware
from warden.web.routes import (
    account,
    authorize,
    device,
    jwks,
    registration,
    system,
    token,
    wellknown,
)
from warden.web.scope_reload import CatalogueReloadMiddleware, reload_on_sighup

__all__ = ["create_app", "ctx_of"]

log = logging.getLogger("warden")


def ctx_of(request: Request) -> AppContext:
    """The app's shared components, from inside a route."""
    ctx: AppContext = request.app.state.ctx
    return ctx


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    context: AppContext | None = None,
) -> Starlette:
    """Build Warden's ASGI app. Endpoints live under the issuer's path (RFC 8414 §3)."""
    ctx = context or build_context(settings or Settings(), clock=clock)
    issuer_routes: list[BaseRoute] = [
        *jwks.routes(ctx),
        *registration.routes(ctx),
        *authorize.routes(ctx),
        *token.routes(ctx),
        *device.routes(ctx),
        *account.routes(ctx),
        *system.routes(ctx),
    ]
    prefix = ctx.settings.issuer_path
    routes: list[BaseRoute] = [*wellknown.routes(ctx)]
    # No slash-appending redirects: they would be built from the Host header (SEC-114), and
    # discovery clients refuse redirects (mcp-auth P2).
    if prefix:
        issuer_routes = [Mount(prefix, app=Router(issuer_routes, redirect_slashes=False))]
    routes += issuer_routes

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for line in ctx.settings.insecure_warnings():
            log.warning("insecure setting: %s", line)
        try:
            async with jwks.signing_keys(ctx), registration.reaping(ctx), housekeeping.purging(ctx):
                with _catalogue_signal(ctx):
                    yield
        finally:
            await ctx.clients.aclose()
            await ctx.limiter.aclose()
            await ctx.db.dispose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={OAuthError: _oauth_error, Exception: _unhandled},
        middleware=[
            Middleware(SecurityHeadersMiddleware, hsts=not ctx.settings.is_development),
            Middleware(CorsMiddleware, issuer_path=prefix),
            *_catalogue_middleware(ctx),
        ],
    )
    app.router.redirect_slashes = False
    app.state.ctx = ctx
    return app


def _catalogue_middleware(ctx: AppContext) -> list[Middleware]:
    """Follow a scope catalogue file, when there is one (:mod:`warden.web.scope_reload`)."""
    if ctx.scope_reloader is None:
        return []
    return [Middleware(CatalogueReloadMiddleware, reloader=ctx.scope_reloader)]


def _catalogue_signal(ctx: AppContext) -> AbstractContextManager[object]:
    if ctx.scope_reloader is None:
        return nullcontext()
    return reload_on_sighup(ctx.scope_reloader)


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    return adapters.error_response(exc, basic_auth_used=basic)


async def _unhandled(request: Request, exc: Exception) -> Response:
    return adapters.unhandled(exc)
