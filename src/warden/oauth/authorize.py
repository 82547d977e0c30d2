"""The authorization request (OAuth 2.1 §4.1.1; RFC 7636; RFC 8707 §2; RFC 9207).

Validation runs as two ordered pipelines of small checks, readable top to bottom.

Phase 1 decides whether the redirect URI can be trusted. Until it can, a failure is shown to
the person as a page and never redirected (OAuth 2.1 §4.1.2.1, §7.13.2; SEC-7)::

    check_client → check_redirect_uri

Phase 2 validates the rest. Its errors go to the validated redirect URI with ``state`` and
``iss`` (OAuth 2.1 §4.1.2.1, RFC 9207 §2; SEC-10)::

    check_state → check_single_values → check_response_type → check_pkce
    → check_scope → check_resource → check_prompt

A request that passes both is an :class:`AuthorizationRequest`. What happens next (sign-in,
consent, the code) is :mod:`warden.oauth.interaction`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from warden.clock import Clock
from warden.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from warden.oauth import pkce
from warden.oauth.clients import ClientDirectory
from warden.oauth.model import Client
from warden.oauth.ports import Stores
from warden.oauth.redirect_uris import RedirectUriMismatch, match_redirect_uri
from warden.oauth.requests import OAuthRequest, Params
from warden.oauth.resources import resolve_resources
from warden.oauth.scopes import ScopeCatalogue, covered_by, parse_scope
from warden.oauth.secrets import SecretHasher
from warden.settings import Settings

__all__ = [
    "MAX_STATE_LENGTH",
    "PHASE_1",
    "PHASE_2",
    "PROMPTS",
    "AuthorizationRequest",
    "AuthorizeEnv",
    "AuthorizeFailure",
    "ClientRedirect",
    "find_client",
    "validate",
]

MAX_STATE_LENGTH = 1024
"""``state`` is echoed verbatim, so it is capped (SEC-12); it also rides in a cookie."""

PROMPTS = frozenset({"none", "login", "consent"})
"""``prompt`` values Warden honours (OIDC Core §3.1.2.1)."""

# Parameters that must not repeat (RFC 6749 §3.1, SEC-13). ``resource`` may (RFC 8707 §2).
_SINGLE_VALUED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "response_mode",
    "nonce",
    "max_age",
    "login_hint",
)


class AuthorizeEnv(Protocol):
    """The long-lived components the authorization endpoint reads (``AppContext`` has them)."""

    settings: Settings
    clock: Clock
    hasher: SecretHasher
    scopes: ScopeCatalogue
    clients: ClientDirectory


@dataclass(frozen=True, slots=True)
class ClientRedirect:
    """Where authorization responses go, once ``client_id`` and ``redirect_uri`` are trusted."""

    client_id: str
    redirect_uri: str
    state: str | None


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A fully validated authorization request."""

    redirect: ClientRedirect
    scopes: frozenset[str]
    resources: tuple[str, ...]
    code_challenge: str
    prompt: frozenset[str] = frozenset()
    code_challenge_method: str = pkce.S256

    @property
    def client_id(self) -> str:
        return self.redirect.client_id

    @property
    def redirect_uri(self) -> str:
        return self.redirect.redirect_uri


class AuthorizeFailure(Exception):
    """The request failed. With no ``redirect`` it must be shown as a page (SEC-7)."""

    def __init__(
        self, error: OAuthError, redirect: ClientRedirect | None, client: Client | None
    ) -> None:
        super().__init__(error.description or error.error)
        self.error = error
        self.redirect = redirect
        self.client = client


@dataclass
class _Draft:
    """What the checks have established so far."""

    params: Params
    client: Client | None = None
    redirect_uri: str | None = None
    state: str | None = None
    scopes: frozenset[str] = frozenset()
    resources: tuple[str, ...] = ()
    code_challenge: str | None = None
    prompt: frozenset[str] = frozenset()

    @property
    def known_client(self) -> Client:
        assert self.client is not None, "check_client runs first"
        return self.client


Check = Callable[[_Draft, AuthorizeEnv, Stores], Awaitable[None]]


async def find_client(client_id: str, env: AuthorizeEnv, stores: Stores) -> Client | None:
    """The client: registered, or resolved from its metadata document (CIMD).

    A changed document drops the consents given to the old one (SEC-62).
    """
    return await env.clients.find(client_id, stores.clients, stores.consents)


async def check_client(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """``client_id`` names a known client (OAuth 2.1 §4.1.1, §4.1.2.1)."""
    client_id = draft.params.get("client_id")
    if client_id is None:
        raise InvalidRequestError("Missing parameter: client_id")
    draft.client = await find_client(client_id, env, stores)
    if draft.client is None:
        raise InvalidRequestError("Unknown client_id")


async def check_redirect_uri(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """Exact match, loopback port excepted; required with several registered (SEC-4..6)."""
    requested = draft.params.get("redirect_uri")
    try:
        draft.redirect_uri = match_redirect_uri(draft.known_client.redirect_uris, requested)
    except RedirectUriMismatch as exc:
        raise exc.as_oauth_error() from None


async def check_state(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """``state`` is echoed verbatim, so it must be single and short (SEC-12, SEC-13)."""
    state = draft.params.get("state")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise InvalidRequestError(f"state is longer than {MAX_STATE_LENGTH} characters")
    draft.state = state


async def check_single_values(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """No parameter but ``resource`` appears twice (RFC 6749 §3.1, SEC-13)."""
    for name in _SINGLE_VALUED:
        draft.params.get(name)


async def check_response_type(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """Only the code flow, answered in the query (OAuth 2.1 §4.1.1, §10.1; SEC-11)."""
    response_type = draft.params.get("response_type")
    if response_type is None:
        raise InvalidRequestError("Missing parameter: response_type")
    if response_type != "code":
        raise UnsupportedResponseTypeError("Only response_type=code is supported")
    client = draft.known_client
    if "code" not in client.response_types or "authorization_code" not in client.grant_types:
        raise UnauthorizedClientError("This client may not use the authorization code flow")
    response_mode = draft.params.get("response_mode")
    if response_mode not in (None, "query"):
        raise InvalidRequestError("Only response_mode=query is supported")


async def check_pkce(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """PKCE with S256, for every client (OAuth 2.1 §4.1.1; SEC-1, SEC-2, SEC-3)."""
    challenge = draft.params.get("code_challenge")
    pkce.check_challenge(challenge, draft.params.get("code_challenge_method"))
    draft.code_challenge = challenge


async def check_scope(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """Known scopes, within the ``scope`` an administrator registered, allowed for its kind.

    RFC 6749 §3.3; OAuth 2.1 §7.2; SEC-16. Hierarchy applies: a registered ``read:calendar``
    allows a request for ``read:calendar:next-7-days``. Only an administrator's ``scope`` is a
    ceiling: a self-registered client chose its own and could register again with more, so
    for it the catalogue's self-registration policy is the ceiling (SEC-46). MCP clients
    register with their first scope and later step up beyond it (mcp-auth.md §3).
    """
    scopes = parse_scope(draft.params.get("scope"))
    env.scopes.check_known(scopes)
    client = draft.known_client
    ceiling = client.scope if client.origin == "static" else None
    if ceiling is not None and not covered_by(scopes, parse_scope(ceiling)):
        raise InvalidScopeError("Scope not registered for this client")
    env.scopes.check_allowed(scopes, kind=client.kind, origin=client.origin)
    draft.scopes = scopes


async def check_resource(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """Resource indicators: absolute, no fragment, allowed by policy (RFC 8707 §2; SEC-15)."""
    draft.resources = await resolve_resources(
        draft.params.get_all("resource"), settings=env.settings, store=stores.resources
    )


async def check_prompt(draft: _Draft, env: AuthorizeEnv, stores: Stores) -> None:
    """``none``, ``login``, ``consent``; ``none`` stands alone (OIDC Core §3.1.2.1)."""
    value = draft.params.get("prompt")
    prompt = frozenset(value.split(" ")) if value else frozenset()
    if not prompt <= PROMPTS:
        raise InvalidRequestError("Unsupported prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequestError("prompt=none cannot be combined with other values")
    draft.prompt = prompt


PHASE_1: tuple[Check, ...] = (check_client, check_redirect_uri)
PHASE_2: tuple[Check, ...] = (
    check_state,
    check_single_values,
    check_response_type,
    check_pkce,
    check_scope,
    check_resource,
    check_prompt,
)


async def validate(
    request: OAuthRequest, env: AuthorizeEnv, stores: Stores
) -> tuple[AuthorizationRequest, Client]:
    """Run both phases over a GET query or a POST form (OAuth 2.1 §4.1.1).

    :raises AuthorizeFailure: with ``redirect`` None in phase 1, set in phase 2.
    """
    draft = _Draft(request.form if request.method == "POST" else request.query)
    try:
        for check in PHASE_1:
            await check(draft, env, stores)
    except OAuthError as exc:
        raise AuthorizeFailure(exc, None, draft.client) from None
    client, redirect_uri = draft.known_client, draft.redirect_uri
    assert redirect_uri is not None
    try:
        for check in PHASE_2:
            await check(draft, env, stores)
    except OAuthError as exc:
        redirect = ClientRedirect(client.client_id, redirect_uri, draft.state)
        raise AuthorizeFailure(exc, redirect, client) from None
    assert draft.code_challenge is not None
    redirect = ClientRedirect(client.client_id, redirect_uri, draft.state)
    validated = AuthorizationRequest(
        redirect, draft.scopes, draft.resources, draft.code_challenge, draft.prompt
    )
    return validated, client
