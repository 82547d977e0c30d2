"""Discovery documents at their well-known URIs (RFC 8414 §3, OIDC Discovery §4).

For an issuer with a path, ``https://as.example/t1``, RFC 8414 §3.1 inserts the well-known
segment between host and path: ``/.well-known/oauth-authorization-server/t1``. MCP clients
also probe ``/.well-known/openid-configuration/t1`` and then the OIDC form
``/t1/.well-known/openid-configuration`` (mcp-auth C2, P2), so all three answer, with the same
``issuer`` and no redirects. The root forms answer only for a root issuer: for a path issuer
they would belong to a different issuer.

These routes sit at the root of the app, outside the issuer mount (see :mod:`warden.web.app`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from warden.oauth.metadata import authorization_server_metadata, openid_configuration
from warden.web.context import AppContext

__all__ = ["routes"]

OAUTH_METADATA = "/.well-known/oauth-authorization-server"
OPENID_CONFIGURATION = "/.well-known/openid-configuration"

# Short enough that toggling registration or CIMD reaches clients soon; long enough to spare
# browsers a fetch per connection.
_CACHE = {"Cache-Control": "public, max-age=300"}


def routes(ctx: AppContext) -> list[BaseRoute]:
    path = ctx.settings.issuer_path
    oauth = _document(lambda: authorization_server_metadata(ctx.settings, ctx.scopes))
    oidc = _document(lambda: openid_configuration(ctx.settings, ctx.scopes))
    found: list[BaseRoute] = [
        Route(f"{OAUTH_METADATA}{path}", oauth, methods=["GET"]),
        Route(f"{OPENID_CONFIGURATION}{path}", oidc, methods=["GET"]),
    ]
    if path:
        found.append(Route(f"{path}{OPENID_CONFIGURATION}", oidc, methods=["GET"]))
    return found


def _document(build: Callable[[], dict[str, Any]]) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint serving a document built per request: the settings are fixed while the
    app runs, but ``scopes_supported`` follows a reloaded scope catalogue."""

    async def endpoint(request: Request) -> Response:
        return JSONResponse(build(), headers=_CACHE)

    return endpoint
