"""What follows a validated authorization request: sign-in, consent, then the redirect.

Each entry point answers with one :data:`Step`:

- :class:`SignIn`: show the sign-in page, keeping ``pending`` in the transaction;
- :class:`AskConsent`: show the consent page;
- :class:`SendToClient`: redirect to the validated redirect URI with a code or an error,
  always with ``state`` and ``iss`` (RFC 9207 §2; SEC-10).

``prompt`` follows OIDC Core §3.1.2.1: ``login`` forces sign-in, ``consent`` forces the page,
``none`` answers ``login_required`` or ``consent_required`` instead of showing either.

On the consent page the person may uncheck scopes; :func:`approve` then grants only what
stayed checked (:func:`warden.oauth.consent.chosen_scopes`). Unchecking every scope is not an
approval: the page comes back asking for a choice, or Deny.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from warden.errors import InvalidRequestError, LoginRequiredError, OAuthError
from warden.oauth.authorize import (
    AuthorizationRequest,
    AuthorizeEnv,
    AuthorizeFailure,
    ClientRedirect,
    find_client,
    validate,
)
from warden.oauth.codes import issue_code
from warden.oauth.consent import (
    ConsentView,
    already_allowed,
    chosen_scopes,
    consent_view,
    granted_scopes,
    may_skip,
    remember,
)
from warden.oauth.model import AuditEvent, Client, Consent, Session, User
from warden.oauth.ports import Stores
from warden.oauth.redirect_uris import RedirectUriMismatch, match_redirect_uri
from warden.oauth.requests import OAuthRequest
from warden.oauth.scopes import format_scope
from warden.oauth.transactions import DeferredError, Pending

__all__ = [
    "AskConsent",
    "Person",
    "SendToClient",
    "SignIn",
    "Step",
    "approve",
    "begin",
    "current_client",
    "deny",
    "resume",
]


@dataclass(frozen=True, slots=True)
class Person:
    """A signed-in person: the session and its user."""

    session: Session
    user: User


@dataclass(frozen=True, slots=True)
class SignIn:
    pending: Pending


@dataclass(frozen=True, slots=True)
class AskConsent:
    request: AuthorizationRequest
    view: ConsentView


@dataclass(frozen=True, slots=True)
class SendToClient:
    """An authorization response: ``params`` go into the redirect URI's query."""

    redirect_uri: str
    params: dict[str, str]

    @classmethod
    def answer(cls, redirect: ClientRedirect, issuer: str, **values: str | None) -> SendToClient:
        params = {k: v for k, v in values.items() if v is not None}
        if redirect.state is not None:
            params["state"] = redirect.state
        params["iss"] = issuer
        return cls(redirect.redirect_uri, params)

    @property
    def is_error(self) -> bool:
        return "error" in self.params


Step = SignIn | AskConsent | SendToClient

_CHOOSE_SOMETHING = "Choose at least one permission to allow, or choose Deny."


def _refuse(
    redirect: ClientRedirect,
    error: OAuthError,
    *,
    client: Client | None,
    signed_in: bool,
    issuer: str,
) -> Step:
    """Send an error to the client, unless a stranger would be bounced to a client that
    registered itself: then they sign in first (BCP §4.11.2, OAuth 2.1 §7.13.2; SEC-9)."""
    if not signed_in and (client is None or client.origin != "static"):
        return SignIn(DeferredError(redirect, error.error, error.description))
    return SendToClient.answer(
        redirect, issuer, error=error.error, error_description=error.description
    )


async def begin(
    request: OAuthRequest, person: Person | None, env: AuthorizeEnv, stores: Stores
) -> Step:
    """Handle ``/authorize``. :raises AuthorizeFailure: when only an error page is safe."""
    issuer = env.settings.issuer
    try:
        validated, client = await validate(request, env, stores)
    except AuthorizeFailure as failure:
        if failure.redirect is None:
            raise
        return _refuse(
            failure.redirect,
            failure.error,
            client=failure.client,
            signed_in=person is not None,
            issuer=issuer,
        )
    if "none" in validated.prompt and person is None:
        error = LoginRequiredError("The user is not signed in")
        return _refuse(validated.redirect, error, client=client, signed_in=False, issuer=issuer)
    if person is None or "login" in validated.prompt:
        return SignIn(validated)
    return await _proceed(validated, client, person, env, stores, source=request.client_ip)


async def resume(
    pending: Pending, person: Person, env: AuthorizeEnv, stores: Stores, *, source: str | None
) -> Step:
    """Continue a transaction once the person is signed in."""
    client = await current_client(pending.redirect, env, stores)
    if isinstance(pending, DeferredError):
        return SendToClient.answer(
            pending.redirect,
            env.settings.issuer,
            error=pending.error,
            error_description=pending.description,
        )
    return await _proceed(pending, client, person, env, stores, source=source)


async def current_client(redirect: ClientRedirect, env: AuthorizeEnv, stores: Stores) -> Client:
    """The client, still registered with this redirect URI (SEC-7 holds at every stage).

    :raises AuthorizeFailure: for an error page.
    """
    try:
        client = await find_client(redirect.client_id, env, stores)
    except OAuthError as exc:
        raise AuthorizeFailure(exc, None, None) from None
    if client is None:
        raise AuthorizeFailure(InvalidRequestError("Unknown client_id"), None, None)
    try:
        match_redirect_uri(client.redirect_uris, redirect.redirect_uri)
    except RedirectUriMismatch as exc:
        raise AuthorizeFailure(exc.as_oauth_error(), None, client) from None
    return client


async def _proceed(
    request: AuthorizationRequest,
    client: Client,
    person: Person,
    env: AuthorizeEnv,
    stores: Stores,
    *,
    source: str | None,
) -> Step:
    consent = await stores.consents.get(person.user.user_id, request.client_id)
    if may_skip(consent, request):
        scopes = granted_scopes(
            consent, request, incremental=env.settings.incremental_authorization
        )
        return await _grant(
            request,
            client,
            person,
            consent,
            env,
            stores,
            source=source,
            scopes=scopes,
            remembered=True,
        )
    if "none" in request.prompt:
        return SendToClient.answer(
            request.redirect,
            env.settings.issuer,
            error="consent_required",
            error_description="The user has not consented to this request",
        )
    return _ask(request, client, person, consent, env)


def _ask(
    request: AuthorizationRequest,
    client: Client,
    person: Person,
    consent: Consent | None,
    env: AuthorizeEnv,
    message: str | None = None,
) -> AskConsent:
    view = consent_view(
        client,
        request,
        scopes=granted_scopes(consent, request, incremental=env.settings.incremental_authorization),
        previous=consent,
        catalogue=env.scopes,
        username=person.user.username,
        message=message,
    )
    return AskConsent(request, view)


async def approve(
    request: AuthorizationRequest,
    person: Person,
    env: AuthorizeEnv,
    stores: Stores,
    *,
    source: str | None,
    posted_scopes: Collection[str] | None = None,
) -> SendToClient | AskConsent:
    """The person approved on the consent page: remember it and issue the code.

    ``posted_scopes`` are the scopes left checked (None: the form named none, so all). An
    empty choice out of a non-empty offer shows the page again, with nothing written.

    :raises AuthorizeFailure: for an error page (a scope the request did not offer, SEC-8).
    """
    client = await current_client(request.redirect, env, stores)
    consent = await stores.consents.get(person.user.user_id, request.client_id)
    offered = granted_scopes(consent, request, incremental=env.settings.incremental_authorization)
    try:
        scopes = chosen_scopes(offered, already_allowed(consent, request), posted_scopes)
        # A narrower scope than one offered must be a real one, and one this client may hold.
        env.scopes.check_allowed(posted_scopes or (), kind=client.kind, origin=client.origin)
    except OAuthError as exc:
        raise AuthorizeFailure(InvalidRequestError(exc.description), None, client) from None
    if offered and not scopes:
        return _ask(request, client, person, consent, env, _CHOOSE_SOMETHING)
    return await _grant(request, client, person, consent, env, stores, source=source, scopes=scopes)


async def deny(
    request: AuthorizationRequest,
    person: Person,
    env: AuthorizeEnv,
    stores: Stores,
    *,
    source: str | None,
) -> SendToClient:
    """The person said no: ``access_denied``, and no code (OAuth 2.1 §4.1.2.1; SEC-69)."""
    client = await current_client(request.redirect, env, stores)
    await _audit(stores, env, "consent.denied", request, client, person, source=source)
    return SendToClient.answer(
        request.redirect,
        env.settings.issuer,
        error="access_denied",
        error_description="The user denied the request",
    )


async def _grant(
    request: AuthorizationRequest,
    client: Client,
    person: Person,
    previous: Consent | None,
    env: AuthorizeEnv,
    stores: Stores,
    *,
    source: str | None,
    scopes: frozenset[str],
    remembered: bool = False,
) -> SendToClient:
    """Remember the consent, issue the code for ``scopes``, and answer the client with it."""
    now = env.clock.now()
    user_id = person.user.user_id
    await remember(
        stores.consents, user_id=user_id, request=request, scopes=scopes, previous=previous, now=now
    )
    code = await issue_code(
        stores.codes,
        request,
        user_id=user_id,
        auth_time=person.session.auth_time,
        scopes=scopes,
        hasher=env.hasher,
        now=now,
        ttl_seconds=env.settings.tokens.code_ttl_seconds,
    )
    data = {
        "scope": format_scope(scopes),
        "resources": list(request.resources),
        "remembered": remembered,
    }
    if not request.scopes <= scopes:
        data["requested_scope"] = format_scope(request.scopes)  # the person narrowed it
    await _audit(
        stores, env, "consent.granted", request, client, person, source, code.grant_id, data
    )
    return SendToClient.answer(request.redirect, env.settings.issuer, code=code.value)


async def _audit(
    stores: Stores,
    env: AuthorizeEnv,
    event: str,
    request: AuthorizationRequest,
    client: Client,
    person: Person,
    source: str | None,
    grant_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    await stores.audit.record(
        AuditEvent(
            event=event,
            at=env.clock.now(),
            client_id=client.client_id,
            user_id=person.user.user_id,
            actor_type=client.kind,
            grant_id=grant_id,
            source=source,
            data=data or {"scope": format_scope(request.scopes)},
        )
    )
