"""Routes: the authorization endpoint and its pages (sign-in, consent, sign-out).

``GET|POST /authorize`` validates the request (OAuth 2.1 §4.1.1) and either answers the
client at once or opens a transaction, sealed in a cookie, and shows a page. The pages post
to ``/login``, ``/consent`` and ``/logout`` with nothing but the transaction id, its CSRF
token and the decision (SEC-8). ``GET /consent?txn=`` shows the page a transaction is at.

Every POST here must come from Warden's own pages: a foreign ``Origin`` is refused (SEC-65),
the CSRF token is compared in constant time, and consent is accepted only from the session
that signed in for the transaction (SEC-66). After a POST the browser is sent on with 303,
so it never re-posts the form to the client (OAuth 2.1 §7.5.3; SEC-14).

The consent form lists each scope not yet allowed as a checkbox ``scope``, checked. Its Allow
button posts ``decision=approve-selected``: the grant is exactly the checked scopes, and none
checked shows the page again (a browser sends no field for an unchecked box, so only the
button can tell "nothing chosen" from "not asked"). ``decision=approve`` with no ``scope``
field approves everything asked, for headless drivers that post the hidden fields and a
decision (mcp-auth recipe 6b); with ``scope`` fields it narrows like the button. Either way
a scope the request did not ask for is refused (SEC-8).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from warden.errors import InvalidRequestError, OAuthError
from warden.oauth import interaction
from warden.oauth.authorize import AuthorizationRequest, AuthorizeFailure
from warden.oauth.interaction import AskConsent, Person, SendToClient, SignIn, Step
from warden.oauth.model import AuditEvent, Client
from warden.oauth.ports import Stores
from warden.oauth.principals import client_profile
from warden.oauth.requests import Params
from warden.oauth.transactions import DeferredError, Transaction
from warden.web.adapters import client_ip, oauth_request, redirect_to_client
from warden.web.browser import BrowserEndpoints, credentials, see_other
from warden.web.context import AppContext
from warden.web.cookies import MAX_COOKIE_BYTES, TransactionSealer
from warden.web.pages import Notice

__all__ = ["FrontChannel", "routes"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

_DECISIONS = ("approve", "approve-selected", "deny")
"""The Allow button posts ``approve-selected`` with the checked scopes; a form driver may post
``approve`` alone for everything asked (see the module docstring)."""

_EXPIRED = InvalidRequestError("This sign-in request has expired or was opened in another browser")


class FrontChannel(BrowserEndpoints):
    """The authorization endpoint and its pages, sharing one set of pages, cookies and keys."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            ctx,
            forbidden=InvalidRequestError(
                "This form could not be verified; start again from the app"
            ),
        )
        login = ctx.settings.login
        self.sealer = TransactionSealer(ctx.master_secret, ctx.clock, login.transaction_ttl_seconds)

    # -- endpoints -------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """``GET|POST /authorize`` (OAuth 2.1 §4.1.1)."""
        try:
            oauth = await oauth_request(request)
        except OAuthError as exc:
            return self.pages.error(exc)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self.person(request, stores)
            try:
                step = await interaction.begin(oauth, person, self.ctx, stores)
            except AuthorizeFailure as failure:
                return self.pages.error(failure.error)
            return await self._answer(
                step, None, stores, person=person, after_post=request.method == "POST"
            )

    async def login(self, request: Request) -> Response:
        """``POST /login``: check the credentials, start a new session, continue."""
        checked = await self._checked_post(request)
        if isinstance(checked, Response):
            return checked
        form, transaction = checked
        try:
            username, password = credentials(form)
        except OAuthError as exc:
            return self.pages.error(exc)
        async with self.ctx.db.unit_of_work() as stores:
            client = await stores.clients.get(transaction.redirect.client_id)
            signed_in = await self.sign_in_with_password(
                request,
                stores,
                username,
                password,
                client_id=transaction.redirect.client_id,
                actor_type=client.kind if client else None,
            )
            if isinstance(signed_in, Notice):
                return self._login_page(transaction, client, signed_in)
            person = signed_in.person
            transaction = transaction.bind(person.session.session_hash)
            response = await self._resume(request, transaction, person, stores, after_post=True)
        self.cookies.set_session(response, signed_in.session_id)
        return response

    async def consent(self, request: Request) -> Response:
        """``GET /consent?txn=`` shows the page; ``POST /consent`` takes the decision."""
        if request.method == "POST":
            return await self._decide(request)
        txn = request.query_params.get("txn")
        transaction = self._transaction(request, txn)
        if transaction is None:
            return self.pages.error(_EXPIRED)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self.person(request, stores)
            if person is None or not transaction.bound_to(person.session.session_hash):
                # Whoever signs in now owns the transaction; it lives in this browser only.
                client = await stores.clients.get(transaction.redirect.client_id)
                return self._login_page(transaction.bind(None), client)
            return await self._resume(request, transaction, person, stores, after_post=False)

    async def logout(self, request: Request) -> Response:
        """``POST /logout``: end the session server side (SEC-75)."""
        if self.foreign_origin(request):
            return self.refuse()
        try:
            form = (await oauth_request(request)).form
            txn, csrf = form.get("txn"), form.get("csrf_token")
        except OAuthError:
            return self.refuse()
        transaction = self._transaction(request, txn) if txn else None
        if txn and transaction is None:
            return self.pages.error(_EXPIRED)
        async with self.ctx.db.unit_of_work() as stores:
            person = await self.person(request, stores)
            if not self._may_sign_out(person, transaction, csrf, stores):
                return self.refuse()
            if person is not None:
                await self.sessions(stores).end(request.cookies.get(self.cookies.session, ""))
                await stores.audit.record(
                    AuditEvent("logout", self.ctx.clock.now(), user_id=person.user.user_id)
                )
        if transaction is not None:
            # "Not you?": the same request continues with whoever signs in next.
            response: Response = self._see_consent_page(transaction.bind(None))
        else:
            response = self.pages.render(
                "message.html", title="Signed out", message="You are signed out of Warden."
            )
        self.cookies.delete(response, self.cookies.session)
        return response

    # -- steps -----------------------------------------------------------------------------

    async def _decide(self, request: Request) -> Response:
        checked = await self._checked_post(request)
        if isinstance(checked, Response):
            return checked
        form, transaction = checked
        try:
            decision = form.get("decision")
        except OAuthError as exc:
            return self.pages.error(exc)
        pending = transaction.pending
        if decision not in _DECISIONS or isinstance(pending, DeferredError):
            return self.pages.error(InvalidRequestError("Choose Allow or Deny"))
        async with self.ctx.db.unit_of_work() as stores:
            person = await self.person(request, stores)
            if person is None or not transaction.bound_to(person.session.session_hash):
                return self.refuse()
            if not await self._spend(transaction, stores):
                return self.refuse()
            try:
                answer = await self._take(request, form, pending, person, stores)
            except AuthorizeFailure as failure:
                return self.pages.error(failure.error)
        if isinstance(answer, AskConsent):
            # Nothing was chosen; this transaction is spent, so the page comes back on a new one.
            fresh = Transaction.start(answer.request, session_hash=person.session.session_hash)
            return self._consent_page(fresh, answer, status_code=400)
        return self._send(answer, transaction, after_post=True)

    async def _take(
        self,
        request: Request,
        form: Params,
        pending: AuthorizationRequest,
        person: Person,
        stores: Stores,
    ) -> SendToClient | AskConsent:
        """The person's decision: deny, or approve what they left checked."""
        source = client_ip(request)
        if form.get("decision") == "deny":
            return await interaction.deny(pending, person, self.ctx, stores, source=source)
        return await interaction.approve(
            pending, person, self.ctx, stores, source=source, posted_scopes=_chosen(form)
        )

    async def _resume(
        self,
        request: Request,
        transaction: Transaction,
        person: Person,
        stores: Stores,
        *,
        after_post: bool,
    ) -> Response:
        try:
            step = await interaction.resume(
                transaction.pending, person, self.ctx, stores, source=client_ip(request)
            )
        except AuthorizeFailure as failure:
            return self.pages.error(failure.error)
        return await self._answer(step, transaction, stores, person=person, after_post=after_post)

    async def _answer(
        self,
        step: Step,
        transaction: Transaction | None,
        stores: Stores,
        *,
        person: Person | None,
        after_post: bool,
    ) -> Response:
        """Turn a step into a response: a redirect, or a page backed by the transaction."""
        if isinstance(step, SendToClient):
            return self._send(step, transaction, after_post=after_post)
        if isinstance(step, SignIn):
            transaction = transaction or Transaction.start(step.pending)
            client = await stores.clients.get(transaction.redirect.client_id)
            return self._login_page(transaction, client)
        assert person is not None, "consent follows sign-in"
        session_hash = person.session.session_hash
        if transaction is None:
            transaction = Transaction.start(step.request, session_hash=session_hash)
        if after_post:
            return self._see_consent_page(transaction)
        return self._consent_page(transaction, step)

    def _send(
        self, answer: SendToClient, transaction: Transaction | None, *, after_post: bool
    ) -> Response:
        """Redirect to the client (303 after a POST, SEC-14); the transaction is over."""
        response = redirect_to_client(
            answer.redirect_uri, answer.params, status_code=303 if after_post else 302
        )
        if transaction is not None:
            self.cookies.delete(response, self.cookies.transaction(transaction.txn))
        return response

    # -- pages -----------------------------------------------------------------------------

    def _login_page(
        self,
        transaction: Transaction,
        client: Client | None,
        notice: Notice | None = None,
    ) -> Response:
        sealed = self.sealer.seal(transaction)
        if len(sealed) > MAX_COOKIE_BYTES:
            return self.pages.error(InvalidRequestError("The authorization request is too large"))
        response = self.pages.form(
            "login.html",
            notice,
            txn=transaction.txn,
            csrf_token=transaction.csrf_token,
            client=client_profile(client) if client else None,
        )
        self.cookies.set_transaction(response, transaction, sealed)
        return response

    def _consent_page(
        self, transaction: Transaction, step: AskConsent, status_code: int = 200
    ) -> Response:
        response = self.pages.render(
            "consent.html",
            status_code=status_code,
            view=step.view,
            txn=transaction.txn,
            csrf_token=transaction.csrf_token,
        )
        self.cookies.set_transaction(response, transaction, self.sealer.seal(transaction))
        return response

    def _see_consent_page(self, transaction: Transaction) -> Response:
        """303 to ``GET /consent?txn=``: post/redirect/get, so a reload never re-posts."""
        url = self.ctx.settings.endpoint("/consent") + "?" + urlencode({"txn": transaction.txn})
        response = see_other(url)
        self.cookies.set_transaction(response, transaction, self.sealer.seal(transaction))
        return response

    # -- checks ----------------------------------------------------------------------------

    async def _checked_post(self, request: Request) -> tuple[Params, Transaction] | Response:
        """A same-origin form post for a live transaction with its CSRF token (SEC-65)."""
        form = await self.same_origin_form(request)
        if isinstance(form, Response):
            return form
        try:
            txn, csrf = form.get("txn"), form.get("csrf_token")
        except OAuthError as exc:
            return self.pages.error(exc)
        transaction = self._transaction(request, txn)
        if transaction is None:
            return self.pages.error(_EXPIRED)
        if not transaction.check_csrf(csrf):
            return self.refuse()
        return form, transaction

    def _may_sign_out(
        self,
        person: Person | None,
        transaction: Transaction | None,
        csrf: str | None,
        stores: Stores,
    ) -> bool:
        if transaction is not None:
            bound_elsewhere = transaction.session_hash is not None and not (
                person is not None and transaction.bound_to(person.session.session_hash)
            )
            return transaction.check_csrf(csrf) and not bound_elsewhere
        return person is not None and self.sessions(stores).check_csrf(person.session, csrf)

    async def _spend(self, transaction: Transaction, stores: Stores) -> bool:
        """A transaction is answered once: its CSRF token is single use (SEC-65)."""
        ttl = self.ctx.settings.login.transaction_ttl_seconds
        key = self.ctx.hasher.digest(f"authorization-transaction:{transaction.txn}")
        return await stores.denylist.claim(key, self.ctx.clock.now() + ttl)

    def _transaction(self, request: Request, txn: str | None) -> Transaction | None:
        if txn is None:
            return None
        return self.sealer.unseal(txn, self.cookies.read_transaction(request, txn))


def _chosen(form: Params) -> list[str] | None:
    """The scopes left checked; None when a form driver posted ``approve`` and no scope."""
    if form.get("decision") == "approve" and "scope" not in form.names():
        return None
    return form.get_all("scope")


def routes(ctx: AppContext) -> list[BaseRoute]:
    front = FrontChannel(ctx)
    return [
        Route("/authorize", front.authorize, methods=["GET", "POST"]),
        Route("/login", front.login, methods=["POST"]),
        Route("/consent", front.consent, methods=["GET", "POST"]),
        Route("/logout", front.logout, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
