"""Consent: when to ask, what to grant, what to remember, and what the page shows.

Consent is remembered per user × client, with the scopes, resources and redirect URI it was
given for (SEC-68). It is reused without asking only when it covers the request *and* the
client's identity can be relied on: the code must go to an ``https`` redirect URI. A public
client on a loopback or private-use-scheme redirect can be impersonated by any local app, so
it is asked every time (OAuth 2.1 §7.3, RFC 8252 §8.6; SEC-17).

With incremental authorization (``settings.incremental_authorization``) a new grant is the
union of the requested scopes and those already consented for the same resources, so a client
that asks only for the new scope on step-up keeps what it had (mcp-auth P4).

The person may narrow a request on the page (:func:`chosen_scopes`): each scope not already
allowed is a checkbox, and the grant, the code and the remembered consent carry only what
stays checked. The choice can only narrow: a scope the request did not offer is refused, so
the form can never widen a grant (SEC-8).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from warden.errors import InvalidRequestError
from warden.oauth.authorize import AuthorizationRequest
from warden.oauth.model import Client, Consent
from warden.oauth.ports import ConsentStore
from warden.oauth.principals import ClientProfile, client_profile
from warden.oauth.redirect_uris import is_loopback_redirect
from warden.oauth.scopes import ScopeCatalogue, covered_by

__all__ = [
    "SENSITIVITY_LABELS",
    "ConsentView",
    "RedirectWarning",
    "ScopeGroup",
    "ScopeLine",
    "already_allowed",
    "chosen_scopes",
    "consent_view",
    "covers",
    "granted_scopes",
    "may_skip",
    "redirect_warning",
    "remember",
    "scope_groups",
]

RedirectWarning = Literal["loopback", "private-use"]

SENSITIVITY_LABELS: Mapping[str, str] = {
    "high": "Sensitive",
    "medium": "Important",
    "low": "Basic",
}
_ORDER = ("high", "medium", "low")


def redirect_warning(redirect_uri: str) -> RedirectWarning | None:
    """Why the code's destination cannot be tied to the client's identity, if it cannot."""
    if is_loopback_redirect(redirect_uri):
        return "loopback"
    if urlsplit(redirect_uri).scheme not in ("https", "http"):
        return "private-use"
    return None


def covers(consent: Consent | None, request: AuthorizationRequest) -> bool:
    """The remembered consent includes this request's scopes, resources and redirect URI."""
    return (
        consent is not None
        and consent.redirect_uri == request.redirect_uri
        and consent.resources == frozenset(request.resources)
        and covered_by(request.scopes, consent.scopes)
    )


def may_skip(consent: Consent | None, request: AuthorizationRequest) -> bool:
    """Whether to grant without showing the page (SEC-17; ``prompt=consent`` forces it)."""
    return (
        "consent" not in request.prompt
        and redirect_warning(request.redirect_uri) is None
        and covers(consent, request)
    )


def _same_resources(consent: Consent | None, request: AuthorizationRequest) -> bool:
    return consent is not None and consent.resources == frozenset(request.resources)


def granted_scopes(
    consent: Consent | None, request: AuthorizationRequest, *, incremental: bool
) -> frozenset[str]:
    """The scopes the code carries: the request's, plus earlier ones if incremental."""
    if incremental and consent is not None and _same_resources(consent, request):
        return request.scopes | consent.scopes
    return request.scopes


def already_allowed(consent: Consent | None, request: AuthorizationRequest) -> frozenset[str]:
    """What the person consented to earlier for the same resources (hierarchy applies)."""
    return consent.scopes if consent and _same_resources(consent, request) else frozenset()


def chosen_scopes(
    offered: frozenset[str], allowed: frozenset[str], posted: Collection[str] | None
) -> frozenset[str]:
    """The scopes the person approved out of ``offered`` (SEC-8: never more).

    ``posted`` None means the form named no scope (a driver that posts only the decision):
    everything offered. Otherwise the scopes already ``allowed`` stay (they are taken back on
    the connected-agents page, not here), plus each posted scope, which an offered scope
    must cover: a person may keep ``read:calendar:next-7-days`` of ``read:calendar``.

    :raises InvalidRequestError: a posted scope that the request did not offer.
    """
    if posted is None:
        return offered
    kept = frozenset(s for s in offered if covered_by([s], allowed))
    optional = offered - kept
    if not covered_by(posted, optional):
        raise InvalidRequestError("A permission was chosen that the request did not ask for")
    return kept | frozenset(posted)


async def remember(
    store: ConsentStore,
    *,
    user_id: str,
    request: AuthorizationRequest,
    scopes: frozenset[str],
    previous: Consent | None,
    now: float,
) -> Consent:
    """Record what the person approved (SEC-68).

    Scopes accumulate for the same resources; a consent for other resources replaces the
    record, so a scope approved for one resource is never reused for another.
    """
    earlier = already_allowed(previous, request)
    consent = Consent(
        user_id=user_id,
        client_id=request.client_id,
        scopes=scopes | earlier,
        resources=frozenset(request.resources),
        redirect_uri=request.redirect_uri,
        granted_at=previous.granted_at if previous else now,
        updated_at=now,
        last_used_at=now,
    )
    await store.put(consent)
    return consent


@dataclass(frozen=True, slots=True)
class ScopeLine:
    """One scope as the person reads it. One not ``previously_granted`` can be unchecked."""

    name: str
    description: str
    sensitivity: str
    previously_granted: bool


@dataclass(frozen=True, slots=True)
class ScopeGroup:
    sensitivity: str
    label: str
    scopes: tuple[ScopeLine, ...]


@dataclass(frozen=True, slots=True)
class ConsentView:
    """Everything the consent page shows (SEC-67). Values are plain text; the page escapes."""

    client: ClientProfile
    redirect_host: str
    redirect_warning: RedirectWarning | None
    resources: tuple[str, ...]
    scope_groups: tuple[ScopeGroup, ...]
    username: str
    message: str | None = None
    """Why the page is shown again (nothing was chosen), if it is."""


def _host(uri: str) -> str | None:
    try:
        return urlsplit(uri).hostname
    except ValueError:
        return None


def scope_groups(
    scopes: Iterable[str], previous: frozenset[str], catalogue: ScopeCatalogue
) -> tuple[ScopeGroup, ...]:
    """The scopes in the catalogue's words, most sensitive first.

    A scope the catalogue no longer knows (it was reloaded) is shown by name, as sensitive.
    """
    lines = []
    for name in sorted(scopes):
        entry = catalogue.get(name)
        lines.append(
            ScopeLine(
                name=name,
                description=entry.description if entry else name,
                sensitivity=entry.sensitivity if entry else "high",
                previously_granted=covered_by([name], previous),
            )
        )
    return tuple(
        ScopeGroup(level, SENSITIVITY_LABELS[level], group)
        for level in _ORDER
        if (group := tuple(line for line in lines if line.sensitivity == level))
    )


def consent_view(
    client: Client,
    request: AuthorizationRequest,
    *,
    scopes: frozenset[str],
    previous: Consent | None,
    catalogue: ScopeCatalogue,
    username: str,
    message: str | None = None,
) -> ConsentView:
    """The consent page's content; self-registered clients are labelled unverified."""
    redirect_host = _host(request.redirect_uri) or urlsplit(request.redirect_uri).scheme
    return ConsentView(
        client=client_profile(client),
        redirect_host=redirect_host,
        redirect_warning=redirect_warning(request.redirect_uri),
        resources=request.resources,
        scope_groups=scope_groups(scopes, already_allowed(previous, request), catalogue),
        username=username,
        message=message,
    )
