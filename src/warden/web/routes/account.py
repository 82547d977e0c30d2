"""Routes: the connected-agents page and the account API (OAuth 2.1 §7.9; SEC-70).

For a person at a browser:

- ``GET /account/connections`` lists every agent and app acting for them, or asks them to
  sign in first;
- ``POST /account/login`` signs in exactly as the authorization pages do (the same rate
  limits, audit and fresh session; SEC-72, SEC-73), then returns to the list (a fixed local
  path, never a parameter: SEC-74);
- ``POST /account/connections/revoke`` takes one connection back and sends the browser back
  to the list with 303.

Each POST must come from Warden's own pages (a foreign ``Origin`` is refused) and carry a
CSRF token compared in constant time (SEC-65): the sign-in form's is bound to a cookie (there
is no session yet), the revoke form's to the session.

For an account portal, with a Warden access token (:mod:`warden.oauth.account_api`):

- ``GET /account/api/connections`` → ``{"connections": [...]}``;
- ``DELETE /account/api/connections/{client_id}`` → 204, whether or not there was one
  (afterwards there is none, which is what the caller asked for).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from warden.errors import InvalidRequestError, OAuthError
from warden.oauth.account_api import ACCOUNT_RESOURCE_PATH, AccountApiAuth
from warden.oauth.connections import list_connections, revoke_connection
from warden.oauth.introspection import TokenInspector
from warden.web.adapters import NO_STORE, client_ip, json_response
from warden.web.browser import BrowserEndpoints, SignInCsrf, credentials, see_other
from warden.web.context import AppContext
from warden.web.pages import Notice

__all__ = [
    "API_PATH",
    "CONNECTIONS_PATH",
    "REVOKE_PATH",
    "SIGN_IN_PATH",
    "AccountPages",
    "routes",
]

CONNECTIONS_PATH = ACCOUNT_RESOURCE_PATH + "/connections"
SIGN_IN_PATH = ACCOUNT_RESOURCE_PATH + "/login"
REVOKE_PATH = CONNECTIONS_PATH + "/revoke"
API_PATH = ACCOUNT_RESOURCE_PATH + "/api/connections"


class AccountPages(BrowserEndpoints):
    """The connected-agents page, its sign-in and its revoke button."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            ctx,
            forbidden=InvalidRequestError("This form could not be verified; open the page again"),
        )
        self._sign_in_csrf = SignInCsrf(ctx, self.cookies, "account")
        self._list_url = ctx.settings.endpoint(CONNECTIONS_PATH)
        self._urls: dict[str, Any] = {
            "account_login_url": ctx.settings.endpoint(SIGN_IN_PATH),
            "revoke_url": ctx.settings.endpoint(REVOKE_PATH),
        }

    async def connections(self, request: Request) -> Response:
        """``GET /account/connections``."""
        async with self.ctx.db.unit_of_work() as stores:
            person = await self.person(request, stores)
            if person is None:
                return self._sign_in_page(request)
            found = await list_connections(
                person.user.user_id, stores, catalogue=self.ctx.scopes, now=self.ctx.clock.now()
            )
            return self.pages.render(
                "connections.html",
                signed_in=True,
                username=person.user.username,
                connections=found,
                csrf_token=self.sessions(stores).csrf_token(person.session),
                **self._urls,
            )

    async def sign_in(self, request: Request) -> Response:
        """``POST /account/login``: check the credentials, start a new session, go back."""
        form = await self.same_origin_form(request)
        if isinstance(form, Response):
            return form
        try:
            csrf = form.get("csrf_token")
            username, password = credentials(form)
        except OAuthError as exc:
            return self.pages.error(exc)
        if not self._sign_in_csrf.matches(request, csrf):
            return self.refuse()
        async with self.ctx.db.unit_of_work() as stores:
            signed_in = await self.sign_in_with_password(request, stores, username, password)
        if isinstance(signed_in, Notice):
            return self._sign_in_page(request, signed_in)
        # Post/redirect/get to a fixed local path, never a parameter (SEC-74).
        return self._sign_in_csrf.signed_in(self._list_url, signed_in.session_id)

    async def revoke(self, request: Request) -> Response:
        """``POST /account/connections/revoke``: take one connection back (SEC-70)."""
        form = await self.same_origin_form(request)
        if isinstance(form, Response):
            return form
        try:
            csrf, client_id = form.get("csrf_token"), form.require("client_id")
        except OAuthError as exc:
            return self.pages.error(exc)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self.person(request, stores)
            if person is None or not self.sessions(stores).check_csrf(person.session, csrf):
                return self.refuse()
            await revoke_connection(
                person.user.user_id,
                client_id,
                stores,
                now=self.ctx.clock.now(),
                via="page",
                source=client_ip(request),
            )
        return see_other(self._list_url)

    def _sign_in_page(self, request: Request, notice: Notice | None = None) -> Response:
        return self._sign_in_csrf.page(
            request,
            lambda csrf_token: self.pages.form(
                "connections.html",
                notice,
                signed_in=False,
                csrf_token=csrf_token,
                **self._urls,
            ),
        )


def _account_api(ctx: AppContext) -> AccountApiAuth:
    inspector = TokenInspector(
        access_tokens=ctx.access_tokens,
        hasher=ctx.hasher,
        clock=ctx.clock,
        issuer=ctx.settings.issuer,
        key_refresh_seconds=ctx.settings.tokens.key_refresh_seconds,
    )
    return AccountApiAuth(inspector, audience=ctx.settings.endpoint(ACCOUNT_RESOURCE_PATH))


def routes(ctx: AppContext) -> list[BaseRoute]:
    pages = AccountPages(ctx)
    auth = _account_api(ctx)

    async def api_list(request: Request) -> Response:
        async with ctx.db.unit_of_work() as stores:
            holder = await auth.authenticate(request.headers.get("authorization"), stores)
            found = await list_connections(
                holder.user_id, stores, catalogue=ctx.scopes, now=ctx.clock.now()
            )
        return json_response({"connections": [c.to_dict() for c in found]})

    async def api_revoke(request: Request) -> Response:
        client_id = request.path_params["client_id"]
        async with ctx.db.unit_of_work() as stores:
            holder = await auth.authenticate(request.headers.get("authorization"), stores)
            await revoke_connection(
                holder.user_id,
                client_id,
                stores,
                now=ctx.clock.now(),
                via="api",
                source=client_ip(request),
                portal=holder.portal,
            )
        return Response(status_code=204, headers=NO_STORE)

    return [
        Route(CONNECTIONS_PATH, pages.connections, methods=["GET"]),
        Route(SIGN_IN_PATH, pages.sign_in, methods=["POST"]),
        Route(REVOKE_PATH, pages.revoke, methods=["POST"]),
        Route(API_PATH, api_list, methods=["GET"]),
        Route(API_PATH + "/{client_id:path}", api_revoke, methods=["DELETE"]),
    ]
