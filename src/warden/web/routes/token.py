"""Routes: the token endpoint (RFC 6749 §3.2), introspection (RFC 7662), revocation (RFC 7009).

Thin: build the protocol request, run the protocol code in one unit of work, render JSON with
``Cache-Control: no-store``. Only ``POST`` is routed, so anything else is ``405`` (SEC-39);
protocol errors are rendered by the app's handler, with a ``Basic`` challenge on
``invalid_client`` when the client used Basic, and anything unexpected is a bare
``server_error`` (SEC-117).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from warden.oauth.introspection import TokenInspector
from warden.oauth.issuance import TokenMinter
from warden.oauth.revocation import revoke_token
from warden.oauth.token import TokenEndpoint
from warden.web.adapters import json_response, oauth_request
from warden.web.context import AppContext

__all__ = ["INTROSPECTION_PATH", "REVOCATION_PATH", "TOKEN_PATH", "routes"]

TOKEN_PATH = "/token"
INTROSPECTION_PATH = "/introspect"
REVOCATION_PATH = "/revoke"


def routes(ctx: AppContext) -> list[BaseRoute]:
    settings = ctx.settings
    authenticator = ctx.client_authenticator
    inspector = TokenInspector(
        access_tokens=ctx.access_tokens,
        hasher=ctx.hasher,
        clock=ctx.clock,
        issuer=settings.issuer,
        key_refresh_seconds=settings.tokens.key_refresh_seconds,
        resource_servers=settings.resource_servers,
    )
    endpoint = TokenEndpoint(
        authenticator=authenticator,
        minter=TokenMinter(
            access_tokens=ctx.access_tokens,
            hasher=ctx.hasher,
            clock=ctx.clock,
            settings=settings.tokens,
        ),
        inspector=inspector,
        settings=settings,
        scopes=ctx.scopes,
        hasher=ctx.hasher,
        clock=ctx.clock,
    )

    async def token(request: Request) -> Response:
        oauth = await oauth_request(request)
        async with ctx.db.unit_of_work() as stores:
            result = await endpoint.handle(oauth, stores)
        return json_response(result.to_dict())

    async def introspect(request: Request) -> Response:
        oauth = await oauth_request(request)
        async with ctx.db.unit_of_work() as stores:
            caller = await authenticator.authenticate(
                oauth, stores, endpoint=settings.endpoint(INTROSPECTION_PATH), allow_public=False
            )
            body = await inspector.introspect(oauth, caller, stores)
        return json_response(body)

    async def revoke(request: Request) -> Response:
        oauth = await oauth_request(request)
        async with ctx.db.unit_of_work() as stores:
            caller = await authenticator.authenticate(
                oauth, stores, endpoint=settings.endpoint(REVOCATION_PATH)
            )
            await revoke_token(oauth, caller, stores, inspector=inspector, clock=ctx.clock)
        return json_response({})

    return [
        Route(TOKEN_PATH, token, methods=["POST"]),
        Route(INTROSPECTION_PATH, introspect, methods=["POST"]),
        Route(REVOCATION_PATH, revoke, methods=["POST"]),
    ]
