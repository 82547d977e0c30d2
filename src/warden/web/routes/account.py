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

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from warden.errors import InvalidRequestError, OAuthError, TooManyRequestsError
from warden.oauth.account_api import ACCOUNT_RESOURCE_PATH, AccountApiAuth
from warden.oauth.connections import list_connections, revoke_connection
from warden.oauth.interaction import Person
from warden.oauth.introspection import TokenInspector
from warden.oauth.login import sign_in
from warden.oauth.ports import Stores
from warden.oauth.requests import Params
from warden.oauth.secrets import constant_time_equals, new_token
from warden.oauth.sessions import Sessions
from warden.web.adapters import NO_STORE, json_response, oauth_request
from warden.web.context import AppContext, derive_key
from warden.web.cookies import Cookies
from warden.web.pages import Pages

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

_FORBIDDEN = InvalidRequestError("This form could not be verified; open the page again")


class AccountPages:
    """The connected-agents page, its sign-in and its revoke button."""

    def __init__(self, ctx: AppContext) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.pages = Pages(settings)
        self.cookies = Cookies(settings)
        # The authorization pages' key: /logout then accepts the sign-out button's token.
        self._session_csrf_key = derive_key(ctx.master_secret, "session-csrf")
        self._sign_in_key = derive_key(ctx.master_secret, "account-sign-in")
        self._sign_in_cookie = ("" if settings.is_development else "__Host-") + "warden-account"
        parts = urlsplit(settings.issuer)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._list_url = settings.endpoint(CONNECTIONS_PATH)
        self._urls: dict[str, Any] = {
            "account_login_url": settings.endpoint(SIGN_IN_PATH),
            "revoke_url": settings.endpoint(REVOKE_PATH),
        }

    async def connections(self, request: Request) -> Response:
        """``GET /account/connections``."""
        async with self.ctx.db.unit_of_work() as stores:
            person = await self._person(request, stores)
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
                csrf_token=self._sessions(stores).csrf_token(person.session),
                **self._urls,
            )

    async def sign_in(self, request: Request) -> Response:
        """``POST /account/login``: check the credentials, start a new session, go back."""
        form = await self._checked_form(request)
        if isinstance(form, Response):
            return form
        try:
            csrf = form.get("csrf_token")
            username, password = form.get("username") or "", form.get("password") or ""
        except OAuthError as exc:
            return self.pages.error(exc)
        if not self._sign_in_token_matches(request, csrf):
            return self.pages.error(_FORBIDDEN, status_code=403)
        async with self.ctx.db.unit_of_work() as stores:
            try:
                user = await sign_in(
                    username,
                    password,
                    env=self.ctx,
                    stores=stores,
                    client_id=None,
                    actor_type=None,
                    source=_ip(request),
                )
            except TooManyRequestsError as exc:
                return self._sign_in_page(request, exc.description, 429, exc.headers)
            if user is None:
                return self._sign_in_page(request, "Wrong username or password.", 400)
            session_id, _ = await self._sessions(stores).start(
                user.user_id,
                now=self.ctx.clock.now(),
                replacing=request.cookies.get(self.cookies.session),
            )
        response = self._back_to_list()
        self.cookies.set(response, self.cookies.session, session_id, max_age=None)
        self.cookies.delete(response, self._sign_in_cookie)
        return response

    async def revoke(self, request: Request) -> Response:
        """``POST /account/connections/revoke``: take one connection back (SEC-70)."""
        form = await self._checked_form(request)
        if isinstance(form, Response):
            return form
        try:
            csrf, client_id = form.get("csrf_token"), form.require("client_id")
        except OAuthError as exc:
            return self.pages.error(exc)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self._person(request, stores)
            if person is None or not self._sessions(stores).check_csrf(person.session, csrf):
                return self.pages.error(_FORBIDDEN, status_code=403)
            await revoke_connection(
                person.user.user_id,
                client_id,
                stores,
                now=self.ctx.clock.now(),
                via="page",
                source=_ip(request),
            )
        return self._back_to_list()

    # -- pages and checks ------------------------------------------------------------------

    def _sign_in_page(
        self,
        request: Request,
        message: str | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        nonce = request.cookies.get(self._sign_in_cookie) or new_token(16)
        response = self.pages.render(
            "connections.html",
            status_code=status_code,
            headers=headers,
            signed_in=False,
            csrf_token=self._sign_in_token(nonce),
            message=message,
            **self._urls,
        )
        ttl = self.ctx.settings.login.transaction_ttl_seconds
        self.cookies.set(response, self._sign_in_cookie, nonce, max_age=ttl)
        return response

    def _back_to_list(self) -> Response:
        """303 to the list: post/redirect/get, so a reload never re-posts (SEC-74: fixed)."""
        return RedirectResponse(
            self._list_url, status_code=303, headers={"Cache-Control": "no-store"}
        )

    async def _checked_form(self, request: Request) -> Params | Response:
        """The form of a same-origin POST (SEC-65); CSRF tokens are checked by the caller."""
        origin = request.headers.get("origin")
        # "null" is what browsers send for our own forms under Referrer-Policy: no-referrer.
        if origin not in (None, "null", self._origin):
            return self.pages.error(_FORBIDDEN, status_code=403)
        try:
            return (await oauth_request(request)).form
        except OAuthError as exc:
            return self.pages.error(exc)

    def _sign_in_token(self, nonce: str) -> str:
        """Double-submit: the form's token is a MAC of the cookie's nonce."""
        return hmac.new(self._sign_in_key, nonce.encode(), hashlib.sha256).hexdigest()

    def _sign_in_token_matches(self, request: Request, token: str | None) -> bool:
        nonce = request.cookies.get(self._sign_in_cookie)
        return (
            nonce is not None
            and token is not None
            and constant_time_equals(self._sign_in_token(nonce), token)
        )

    def _sessions(self, stores: Stores) -> Sessions:
        return Sessions(
            stores.sessions,
            self.ctx.hasher,
            ttl_seconds=self.ctx.settings.login.session_ttl_seconds,
            csrf_key=self._session_csrf_key,
        )

    async def _person(self, request: Request, stores: Stores) -> Person | None:
        session_id = request.cookies.get(self.cookies.session)
        session = await self._sessions(stores).find(session_id, now=self.ctx.clock.now())
        if session is None:
            return None
        user = await stores.users.get(session.user_id)
        return Person(session, user) if user else None


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


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
                source=_ip(request),
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
