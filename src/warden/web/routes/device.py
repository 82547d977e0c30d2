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

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
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
from warden.oauth.ports import Stores
from warden.oauth.sessions import Sessions
from warden.web.adapters import client_ip, json_response, oauth_request
from warden.web.browser import BrowserEndpoints, SignInCsrf, credentials
from warden.web.context import AppContext, derive_key
from warden.web.pages import Notice

__all__ = ["CONFIRM_PATH", "SIGN_IN_PATH", "DeviceVerificationPages", "routes"]

SIGN_IN_PATH = VERIFICATION_PATH + "/login"
CONFIRM_PATH = VERIFICATION_PATH + "/confirm"

_INVALID_CODE = Notice(
    "That code is not valid, or it has expired or been used. Check the code your device "
    "shows, or start again on the device.",
    400,
)


class DeviceVerificationPages(BrowserEndpoints):
    """``/device``, ``/device/login`` and ``/device/confirm``, sharing pages, cookies and keys."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            ctx,
            forbidden=InvalidRequestError(
                "This form could not be verified; start again on your device"
            ),
        )
        self.verifier = DeviceVerifier(
            ctx, confirm_key=derive_key(ctx.master_secret, "device-confirm")
        )
        self._sign_in_csrf = SignInCsrf(ctx, self.cookies, "device")
        self._urls: dict[str, Any] = {
            "device_url": ctx.settings.endpoint(VERIFICATION_PATH),
            "device_login_url": ctx.settings.endpoint(SIGN_IN_PATH),
            "device_confirm_url": ctx.settings.endpoint(CONFIRM_PATH),
        }

    # -- endpoints -------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """``GET /device[?user_code=]`` and ``POST /device``: find the code, show who asks."""
        if request.method == "POST":
            params = await self.same_origin_form(request)
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
            person = await self.person(request, stores)
            if person is None:
                return self._sign_in_page(request, typed)
            sessions = self.sessions(stores)
            if request.method == "POST" and not sessions.check_csrf(person.session, csrf):
                return self.refuse()
            if typed is None:
                return self._code_page(person, sessions)
            return await self._look_up(request, stores, person, typed)

    async def sign_in(self, request: Request) -> Response:
        """``POST /device/login``: check the credentials, start a new session, go back."""
        form = await self.same_origin_form(request)
        if isinstance(form, Response):
            return form
        try:
            typed, csrf = form.get("user_code"), form.get("csrf_token")
            username, password = credentials(form)
        except OAuthError as exc:
            return self.pages.error(exc)
        if not self._sign_in_csrf.matches(request, csrf):
            return self.refuse()
        async with self.ctx.db.unit_of_work() as stores:
            signed_in = await self.sign_in_with_password(request, stores, username, password)
        if isinstance(signed_in, Notice):
            return self._sign_in_page(request, typed, signed_in)
        return self._sign_in_csrf.signed_in(self._back_to_device(typed), signed_in.session_id)

    async def confirm(self, request: Request) -> Response:
        """``POST /device/confirm``: the person's decision on one code (SEC-93)."""
        form = await self.same_origin_form(request)
        if isinstance(form, Response):
            return form
        try:
            code = normalise_user_code(form.get("user_code"))
            csrf, decision = form.get("csrf_token"), form.get("decision")
        except OAuthError as exc:
            return self.pages.error(exc)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self.person(request, stores)
            if (
                person is None
                or code is None
                or not self.verifier.check_confirm_token(person.session.session_hash, code, csrf)
            ):
                return self.refuse()
            if decision != "approve" and decision != "deny":
                return self.pages.error(InvalidRequestError("Choose Allow or Deny"))
            try:
                found = await self.verifier.decide(
                    stores, code, person, approve=decision == "approve", source=client_ip(request)
                )
            except OAuthError as exc:
                return self.pages.error(exc)
            if found is None:
                return self._code_page(person, self.sessions(stores), _INVALID_CODE)
        return self._decided_page(found, approved=decision == "approve")

    # -- pages -----------------------------------------------------------------------------

    async def _look_up(
        self, request: Request, stores: Stores, person: Person, typed: str
    ) -> Response:
        """The confirmation page for a live code; one generic page for any other (SEC-90)."""
        session_hash, sessions = person.session.session_hash, self.sessions(stores)
        try:
            found = await self.verifier.find(
                stores, typed, session_hash=session_hash, ip=client_ip(request)
            )
        except TooManyRequestsError as exc:
            return self._code_page(person, sessions, Notice.of(exc))
        except OAuthError as exc:
            return self.pages.error(exc)
        if found is None:
            return self._code_page(person, sessions, _INVALID_CODE)
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
        self, person: Person, sessions: Sessions, notice: Notice | None = None
    ) -> Response:
        return self.pages.form(
            "device.html",
            notice,
            signed_in=True,
            username=person.user.username,
            csrf_token=sessions.csrf_token(person.session),
            user_code=None,
            **self._urls,
        )

    def _sign_in_page(
        self, request: Request, typed: str | None, notice: Notice | None = None
    ) -> Response:
        """Sign in first; the code rides along in the form, normalised or not at all."""
        code = normalise_user_code(typed)
        return self._sign_in_csrf.page(
            request,
            lambda csrf_token: self.pages.form(
                "device.html",
                notice,
                signed_in=False,
                username=None,
                csrf_token=csrf_token,
                user_code=format_user_code(code) if code else None,
                **self._urls,
            ),
        )

    def _back_to_device(self, typed: str | None) -> str:
        """Where sign-in returns: our own page, with the code if it is one (SEC-74)."""
        url = self.ctx.settings.endpoint(VERIFICATION_PATH)
        code = normalise_user_code(typed)
        return f"{url}?{urlencode({'user_code': format_user_code(code)})}" if code else url


def routes(ctx: AppContext) -> list[BaseRoute]:
    # RFC 8628 §3.1: the client authenticates as it does at the token endpoint.
    endpoint = DeviceAuthorizationEndpoint(ctx, ctx.client_authenticator)
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
