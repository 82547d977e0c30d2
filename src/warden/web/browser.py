"""What every browser-facing endpoint shares: the authorization, device and account pages.

- the signed-in person, found from the session cookie (SEC-71);
- same-origin form posts: a foreign ``Origin`` is refused (SEC-65);
- signing in, with the same rate limits, audit and fresh session everywhere (OAuth 2.1 §7.7;
  SEC-72, SEC-73);
- a double-submit CSRF token for a sign-in form that has neither a session nor a transaction
  to bind its token to (SEC-65);
- post/redirect/get: a 303 after a POST, so a reload never re-posts (OAuth 2.1 §7.5.3; SEC-14).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from warden.errors import InvalidRequestError, OAuthError, TooManyRequestsError
from warden.oauth.interaction import Person
from warden.oauth.login import sign_in
from warden.oauth.ports import Stores
from warden.oauth.requests import Params
from warden.oauth.secrets import constant_time_equals, new_token
from warden.oauth.sessions import Sessions
from warden.web.adapters import client_ip, oauth_request
from warden.web.context import AppContext, derive_key
from warden.web.cookies import Cookies
from warden.web.pages import Notice, Pages

__all__ = ["BrowserEndpoints", "SignInCsrf", "SignedIn", "credentials", "see_other"]

_WRONG_CREDENTIALS = Notice("Wrong username or password.", 400)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session: its id for the cookie, and who holds it."""

    session_id: str
    person: Person


class BrowserEndpoints:
    """Base of the browser-facing endpoints: pages, cookies, sessions and the shared checks."""

    def __init__(self, ctx: AppContext, *, forbidden: InvalidRequestError) -> None:
        self.ctx = ctx
        self.pages = Pages(ctx.settings)
        self.cookies = Cookies(ctx.settings)
        self.forbidden = forbidden
        # One key for every page, so /logout accepts the sign-out button's token from any.
        self._session_csrf_key = derive_key(ctx.master_secret, "session-csrf")
        parts = urlsplit(ctx.settings.issuer)
        self._origin = f"{parts.scheme}://{parts.netloc}"

    def refuse(self) -> Response:
        """403: the form could not be verified (SEC-65)."""
        return self.pages.error(self.forbidden, status_code=403)

    def foreign_origin(self, request: Request) -> bool:
        """An ``Origin`` other than the issuer's. ``null`` is what browsers send for our own
        forms under ``Referrer-Policy: no-referrer`` (Fetch §3.1), so only the CSRF token
        can judge those."""
        return request.headers.get("origin") not in (None, "null", self._origin)

    async def same_origin_form(self, request: Request) -> Params | Response:
        """The form of a same-origin POST (SEC-65); CSRF tokens are checked by the caller."""
        if self.foreign_origin(request):
            return self.refuse()
        try:
            return (await oauth_request(request)).form
        except OAuthError as exc:
            return self.pages.error(exc)

    def sessions(self, stores: Stores) -> Sessions:
        return Sessions(
            stores.sessions,
            self.ctx.hasher,
            ttl_seconds=self.ctx.settings.login.session_ttl_seconds,
            csrf_key=self._session_csrf_key,
        )

    async def person(self, request: Request, stores: Stores) -> Person | None:
        session_id = request.cookies.get(self.cookies.session)
        session = await self.sessions(stores).find(session_id, now=self.ctx.clock.now())
        if session is None:
            return None
        user = await stores.users.get(session.user_id)
        return Person(session, user) if user else None

    async def sign_in_with_password(
        self,
        request: Request,
        stores: Stores,
        username: str,
        password: str,
        *,
        client_id: str | None = None,
        actor_type: str | None = None,
    ) -> SignedIn | Notice:
        """A fresh session replacing the browser's old one (SEC-72), or what the sign-in page
        says when the credentials are wrong or a rate limit was hit (SEC-73)."""
        try:
            user = await sign_in(
                username,
                password,
                env=self.ctx,
                stores=stores,
                client_id=client_id,
                actor_type=actor_type,
                source=client_ip(request),
            )
        except TooManyRequestsError as exc:
            return Notice.of(exc)
        if user is None:
            return _WRONG_CREDENTIALS
        session_id, session = await self.sessions(stores).start(
            user.user_id,
            now=self.ctx.clock.now(),
            replacing=request.cookies.get(self.cookies.session),
        )
        return SignedIn(session_id, Person(session, user))


class SignInCsrf:
    """Double-submit CSRF for a sign-in form (SEC-65): there is no session yet, so the form's
    token is a MAC of a random nonce kept in a cookie of its own."""

    def __init__(self, ctx: AppContext, cookies: Cookies, purpose: str) -> None:
        self._key = derive_key(ctx.master_secret, f"{purpose}-sign-in")
        self._cookies = cookies
        self._cookie = cookies.name(f"warden-{purpose}")
        self._ttl = ctx.settings.login.transaction_ttl_seconds

    def page(self, request: Request, render: Callable[[str], Response]) -> Response:
        """The sign-in page ``render``-ed with the token, and the cookie with its nonce."""
        nonce = request.cookies.get(self._cookie) or new_token(16)
        response = render(self._token(nonce))
        self._cookies.set(response, self._cookie, nonce, max_age=self._ttl)
        return response

    def matches(self, request: Request, token: str | None) -> bool:
        nonce = request.cookies.get(self._cookie)
        return (
            nonce is not None
            and token is not None
            and constant_time_equals(self._token(nonce), token)
        )

    def forget(self, response: Response) -> None:
        self._cookies.delete(response, self._cookie)

    def signed_in(self, location: str, session_id: str) -> Response:
        """The 303 after a sign-in: the new session cookie set, the form's nonce dropped."""
        response = see_other(location)
        self._cookies.set_session(response, session_id)
        self.forget(response)
        return response

    def _token(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()


def credentials(form: Params) -> tuple[str, str]:
    """The posted username and password. :raises OAuthError: a field was repeated (SEC-13)."""
    return form.get("username") or "", form.get("password") or ""


def see_other(url: str) -> RedirectResponse:
    """303 to one of our own pages: post/redirect/get, so a reload never re-posts."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
