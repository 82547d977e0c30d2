"""Routes: the device authorization endpoint and the device verification pages (RFC 8628).

``POST /device_authorization`` (§3.1, §3.2) is machine-facing JSON, like the token endpoint.
The verification pages are for a person at a browser (§3.3):

- ``GET /device`` signs the person in first, then asks for the code; with ``?user_code=``
  (``verification_uri_complete``) it shows the confirmation page at once, which never
  approves by itself (SEC-92);
- ``POST /device/login`` signs in exactly as the authorization pages do (the same rate
  limits, audit and fresh session, SEC-72, SEC-73), then returns to ``/device`` with the code;
- ``POST /device`` takes a typed code: the confirmation page, or one generic page for every
  wrong, expired or used code (SEC-89, SEC-90);
- ``POST /device/confirm`` approves or denies (SEC-93).

Every POST must come from Warden's own pages: a foreign ``Origin`` is refused, and each form
carries a CSRF token compared in constant time (SEC-65): the sign-in form's is bound to a
cookie (there is no session yet), the code form's to the session, and the confirmation form's
to the session *and* the code. The pages carry the anti-framing headers of every Warden page
(SEC-63) and never get CORS (SEC-115).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from warden.errors import InvalidRequestError, OAuthError, TooManyRequestsError
from warden.oauth.device import (
    DEVICE_AUTHORIZATION_PATH,
    VERIFICATION_PATH,
    DeviceAuthorizationEndpoint,
    format_user_code,
    normalise_user_code,
)
from warden.oauth.device_verification import DeviceVerifier, FoundDevice, device_consent_view
from warden.oauth.interaction import Person
from warden.oauth.login import sign_in
from warden.oauth.ports import Stores
from warden.oauth.requests import Params
from warden.oauth.secrets import constant_time_equals, new_token
from warden.oauth.sessions import Sessions
from warden.web.adapters import json_response, oauth_request
from warden.web.context import AppContext, derive_key
from warden.web.cookies import Cookies
from warden.web.pages import Pages
from warden.web.routes.token import _authenticator as token_endpoint_authenticator

__all__ = ["CONFIRM_PATH", "SIGN_IN_PATH", "DeviceVerificationPages", "routes"]

SIGN_IN_PATH = VERIFICATION_PATH + "/login"
CONFIRM_PATH = VERIFICATION_PATH + "/confirm"

_FORBIDDEN = InvalidRequestError("This form could not be verified; start again on your device")
_INVALID_CODE = (
    "That code is not valid, or it has expired or been used. Check the code your device "
    "shows, or start again on the device."
)


class DeviceVerificationPages:
    """``/device``, ``/device/login`` and ``/device/confirm``, sharing pages, cookies and keys."""

    def __init__(self, ctx: AppContext) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.pages = Pages(settings)
        self.cookies = Cookies(settings)
        self.verifier = DeviceVerifier(
            ctx, confirm_key=derive_key(ctx.master_secret, "device-confirm")
        )
        # The authorization pages' key: /logout then accepts the sign-out button's token.
        self._session_csrf_key = derive_key(ctx.master_secret, "session-csrf")
        self._sign_in_key = derive_key(ctx.master_secret, "device-sign-in")
        self._sign_in_cookie = ("" if settings.is_development else "__Host-") + "warden-device"
        parts = urlsplit(settings.issuer)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._urls: dict[str, Any] = {
            "device_url": settings.endpoint(VERIFICATION_PATH),
            "device_login_url": settings.endpoint(SIGN_IN_PATH),
            "device_confirm_url": settings.endpoint(CONFIRM_PATH),
        }

    # -- endpoints -------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """``GET /device[?user_code=]`` and ``POST /device``: find the code, show who asks."""
        if request.method == "POST":
            params = await self._checked_form(request)
            if isinstance(params, Response):
                return params
        else:
            try:
                params = (await oauth_request(request, form=False)).query
            except OAuthError as exc:
                return self.pages.error(exc)
        try:
            typed, csrf = params.get("user_code"), params.get("csrf_token")
        except OAuthError as exc:
            return self.pages.error(exc)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self._person(request, stores)
            if person is None:
                return self._sign_in_page(request, typed)
            sessions = self._sessions(stores)
            if request.method == "POST" and not sessions.check_csrf(person.session, csrf):
                return self.pages.error(_FORBIDDEN, status_code=403)
            if typed is None:
                return self._code_page(person, sessions)
            return await self._look_up(request, stores, person, typed)

    async def sign_in(self, request: Request) -> Response:
        """``POST /device/login``: check the credentials, start a new session, go back."""
        form = await self._checked_form(request)
        if isinstance(form, Response):
            return form
        try:
            typed, csrf = form.get("user_code"), form.get("csrf_token")
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
                return self._sign_in_page(request, typed, exc.description, 429, exc.headers)
            if user is None:
                return self._sign_in_page(request, typed, "Wrong username or password.", 400)
            session_id, _ = await self._sessions(stores).start(
                user.user_id,
                now=self.ctx.clock.now(),
                replacing=request.cookies.get(self.cookies.session),
            )
        response = RedirectResponse(
            self._back_to_device(typed), status_code=303, headers={"Cache-Control": "no-store"}
        )
        self.cookies.set(response, self.cookies.session, session_id, max_age=None)
        self.cookies.delete(response, self._sign_in_cookie)
        return response

    async def confirm(self, request: Request) -> Response:
        """``POST /device/confirm``: the person's decision on one code (SEC-93)."""
        form = await self._checked_form(request)
        if isinstance(form, Response):
            return form
        try:
            code = normalise_user_code(form.get("user_code"))
            csrf, decision = form.get("csrf_token"), form.get("decision")
        except OAuthError as exc:
            return self.pages.error(exc)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self._person(request, stores)
            if (
                person is None
                or code is None
                or not self.verifier.check_confirm_token(person.session.session_hash, code, csrf)
            ):
                return self.pages.error(_FORBIDDEN, status_code=403)
            if decision != "approve" and decision != "deny":
                return self.pages.error(InvalidRequestError("Choose Allow or Deny"))
            try:
                found = await self.verifier.decide(
                    stores, code, person, approve=decision == "approve", source=_ip(request)
                )
            except OAuthError as exc:
                return self.pages.error(exc)
            if found is None:
                return self._code_page(person, self._sessions(stores), _INVALID_CODE, 400)
        return self._decided_page(found, approved=decision == "approve")

    # -- pages -----------------------------------------------------------------------------

    async def _look_up(
        self, request: Request, stores: Stores, person: Person, typed: str
    ) -> Response:
        """The confirmation page for a live code; one generic page for any other (SEC-90)."""
        session_hash, sessions = person.session.session_hash, self._sessions(stores)
        try:
            found = await self.verifier.find(
                stores, typed, session_hash=session_hash, ip=_ip(request)
            )
        except TooManyRequestsError as exc:
            return self._code_page(person, sessions, exc.description, 429, exc.headers)
        except OAuthError as exc:
            return self.pages.error(exc)
        if found is None:
            return self._code_page(person, sessions, _INVALID_CODE, 400)
        view = device_consent_view(found, catalogue=self.ctx.scopes, username=person.user.username)
        return self.pages.render(
            "device_confirm.html",
            view=view,
            csrf_token=self.verifier.confirm_token(session_hash, found.user_code),
            **self._urls,
        )

    def _decided_page(self, found: FoundDevice, *, approved: bool) -> Response:
        if not approved:
            return self.pages.render(
                "message.html",
                title="Device not connected",
                message="You denied the request. The device gets no access; you can close "
                "this page.",
            )
        name = found.client.client_name or found.client.client_id
        return self.pages.render(
            "message.html",
            title="Device connected",
            message=f"{name} can now act for you on your device. Return to the device; it "
            "finishes on its own.",
        )

    def _code_page(
        self,
        person: Person,
        sessions: Sessions,
        message: str | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return self.pages.render(
            "device.html",
            status_code=status_code,
            headers=headers,
            signed_in=True,
            username=person.user.username,
            csrf_token=sessions.csrf_token(person.session),
            user_code=None,
            message=message,
            **self._urls,
        )

    def _sign_in_page(
        self,
        request: Request,
        typed: str | None,
        message: str | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Sign in first; the code rides along in the form, normalised or not at all."""
        nonce = request.cookies.get(self._sign_in_cookie) or new_token(16)
        code = normalise_user_code(typed)
        response = self.pages.render(
            "device.html",
            status_code=status_code,
            headers=headers,
            signed_in=False,
            username=None,
            csrf_token=self._sign_in_token(nonce),
            user_code=format_user_code(code) if code else None,
            message=message,
            **self._urls,
        )
        ttl = self.ctx.settings.login.transaction_ttl_seconds
        self.cookies.set(response, self._sign_in_cookie, nonce, max_age=ttl)
        return response

    def _back_to_device(self, typed: str | None) -> str:
        """Where sign-in returns: our own page, with the code if it is one (SEC-74)."""
        url = self.ctx.settings.endpoint(VERIFICATION_PATH)
        code = normalise_user_code(typed)
        return f"{url}?{urlencode({'user_code': format_user_code(code)})}" if code else url

    # -- checks ----------------------------------------------------------------------------

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


def routes(ctx: AppContext) -> list[BaseRoute]:
    # RFC 8628 §3.1: the client authenticates as it does at the token endpoint.
    endpoint = DeviceAuthorizationEndpoint(ctx, token_endpoint_authenticator(ctx))
    pages = DeviceVerificationPages(ctx)

    async def device_authorization(request: Request) -> Response:
        oauth = await oauth_request(request)
        async with ctx.db.unit_of_work() as stores:
            result = await endpoint.handle(oauth, stores)
        return json_response(result.to_dict())

    return [
        Route(DEVICE_AUTHORIZATION_PATH, device_authorization, methods=["POST"]),
        Route(VERIFICATION_PATH, pages.verify, methods=["GET", "POST"]),
        Route(SIGN_IN_PATH, pages.sign_in, methods=["POST"]),
        Route(CONFIRM_PATH, pages.confirm, methods=["POST"]),
    ]
