"""``AgentAuth``: an ``httpx.Auth`` that gets an agent through an MCP server's authorization.

Put it on an ``httpx.AsyncClient`` and call the protected resource::

    auth = AgentAuth(AuthorizationCodeFlow(open_in_browser, "http://127.0.0.1/callback"))
    async with httpx.AsyncClient(auth=auth) as client:
        await client.post("https://mcp.example/mcp", json=...)

What happens on the way (MCP 2026-07-28 client rules, mcp-auth.md C1..C11):

- a ``401`` starts discovery (RFC 9728, RFC 8414; :mod:`warden.agent.discovery`), then the
  client is settled (pre-registered, Client ID Metadata Document, or RFC 7591 registration;
  :mod:`warden.agent.registration`) and the flow runs (authorization code + PKCE, device
  grant or client credentials) for the resource's scopes (C6);
- every later request to that resource carries ``Authorization: Bearer`` (RFC 6750 §2.1;
  never in the query, C10), and only requests at or below the resource identifier do, so a
  token never reaches a server it was not issued for;
- tokens are refreshed shortly before they expire and again on ``401 invalid_token``; a
  refresh refused with ``invalid_grant`` drops them and authorizes afresh (P8);
- a ``403`` with ``error="insufficient_scope"`` re-authorizes for the union of the old and the
  challenged scopes (C7), at most ``max_step_ups`` times per request, then retries.

One lock serializes discovery, registration and authorization, so concurrent requests that
all meet a 401 start one authorization, not many. Requests are retried after authorization,
so their bodies are buffered (``requires_request_body``); responses are not, so streamed
responses (Server-Sent Events) stay streamed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Collection, Generator
from dataclasses import dataclass
from types import TracebackType

import anyio
import httpx

from warden.agent import tokens as token_requests
from warden.agent._urls import resource_covers
from warden.agent.challenge import BearerChallenge, bearer_challenge
from warden.agent.discovery import Discovery, discover
from warden.agent.errors import TokenError
from warden.agent.flow import Flow, FlowContext
from warden.agent.registration import (
    AgentProfile,
    ClientCredentials,
    build_registration_request,
    register_dynamically,
    resolve_client,
)
from warden.agent.scopes import format_scope, initial_scope, parse_scope, step_up_scope
from warden.agent.storage import MemoryTokenStorage, TokenStorage
from warden.agent.tokens import TokenSet
from warden.clock import Clock, SystemClock

__all__ = ["AgentAuth"]

log = logging.getLogger("warden.agent")

_MAX_UNAUTHORIZED_RETRIES = 2
# Errors after which the stored refresh token (or the client itself) is of no further use.
_DEAD_GRANT = frozenset({"invalid_grant"})
_DEAD_CLIENT = frozenset({"invalid_client", "unauthorized_client"})


@dataclass
class _Binding:
    """A protected resource the agent has discovered, and what it last asked for there."""

    discovery: Discovery
    requested: frozenset[str] = frozenset()

    @property
    def issuer(self) -> str:
        return self.discovery.server.issuer

    @property
    def resource(self) -> str:
        return self.discovery.resource.resource


@dataclass
class _Attempt:
    """One request on its way through 401s and 403s."""

    url: str
    sent: TokenSet | None = None
    unauthorized: int = 0
    step_ups: int = 0
    authorized: bool = False
    """Whether this request already ran a flow (and so involved the person)."""


class AgentAuth(httpx.Auth):
    """Discovery, registration, authorization, refresh and step-up for an async httpx client.

    :param flow: how to get a first token: :class:`~warden.agent.AuthorizationCodeFlow`,
        :class:`~warden.agent.DeviceCodeFlow` or :class:`~warden.agent.ClientCredentialsFlow`.
    :param profile: how the agent registers (name, metadata document, pre-registered ids).
    :param storage: where credentials and tokens live (in memory by default).
    :param http: the client for the agent's own OAuth requests; one is made if not given.
    :param scope: scopes to ask for when neither the challenge nor the resource names any.
    :param trusted_issuers: if given, the only authorization servers the agent will use.
    :param refresh_skew_seconds: refresh a token this long before it expires.
    :param max_step_ups: re-authorizations for more scope allowed per request.
    """

    requires_request_body = True

    def __init__(
        self,
        flow: Flow,
        *,
        profile: AgentProfile | None = None,
        storage: TokenStorage | None = None,
        http: httpx.AsyncClient | None = None,
        scope: str | None = None,
        trusted_issuers: Collection[str] | None = None,
        clock: Clock | None = None,
        refresh_skew_seconds: float = 30.0,
        max_step_ups: int = 2,
    ) -> None:
        self.flow = flow
        self.profile = profile or AgentProfile()
        self.storage: TokenStorage = storage or MemoryTokenStorage()
        self.scope = scope
        self.trusted_issuers = trusted_issuers
        self.clock: Clock = clock or SystemClock()
        self.refresh_skew_seconds = refresh_skew_seconds
        self.max_step_ups = max_step_ups
        self._http = http
        self._owns_http = http is None
        self._bindings: dict[str, _Binding] = {}
        self._lock = anyio.Lock()

    # --- httpx.Auth ---------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("AgentAuth needs an httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        attempt = _Attempt(str(request.url))
        attempt.sent = await self._token_before_sending(attempt)
        response = yield _with_bearer(request, attempt.sent)
        while True:
            challenge = bearer_challenge(response)
            if response.status_code == 401 and attempt.unauthorized < _MAX_UNAUTHORIZED_RETRIES:
                attempt.unauthorized += 1
                fresh = await self._after_unauthorized(attempt, challenge)
            elif _insufficient_scope(response, challenge) and attempt.step_ups < self.max_step_ups:
                attempt.step_ups += 1
                fresh = await self._step_up(attempt, challenge)
            else:
                return
            if fresh is None:
                return
            attempt.sent = fresh
            response = yield _with_bearer(request, fresh)

    # --- lifecycle ----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client the agent made for itself (not one it was given)."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AgentAuth:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
        return self._http

    # --- the three moments: before sending, after a 401, after a 403 -----------------------

    async def _token_before_sending(self, attempt: _Attempt) -> TokenSet | None:
        """A usable token for a resource already discovered; None for an unknown URL."""
        binding = self._binding_for(attempt.url)
        if binding is None:
            return None
        async with self._lock:
            tokens = await self._current_tokens(binding)
            if tokens is not None:
                return tokens
            scope = binding.requested or initial_scope(None, binding.discovery.resource, self.scope)
            return await self._authorize(binding, scope, attempt)

    async def _after_unauthorized(
        self, attempt: _Attempt, challenge: BearerChallenge | None
    ) -> TokenSet | None:
        """Discover again (the resource may have moved, C11), then refresh or authorize.

        None gives up: a token this very request obtained from the person was refused, and
        asking again would not change that.
        """
        async with self._lock:
            discovery = await discover(
                self.http,
                attempt.url,
                resource_metadata=challenge.resource_metadata if challenge else None,
                trusted_issuers=self.trusted_issuers,
            )
            binding = self._bind(discovery)
            tokens = await self._current_tokens(binding)
            sent = attempt.sent
            if tokens is not None and (sent is None or tokens.access_token != sent.access_token):
                return tokens  # stored earlier, or refreshed by a concurrent request
            if tokens is not None and tokens.refresh_token is not None:
                refreshed = await self._refresh(binding, tokens)
                if refreshed is not None:
                    return refreshed
            await self.storage.set_tokens(binding.issuer, binding.resource, None)
            if attempt.authorized:
                return None
            # What the agent held here before (it may have stepped up) is asked for again, so
            # losing a token never silently loses a permission the person already gave.
            scope = initial_scope(challenge, discovery.resource, self.scope) | binding.requested
            return await self._authorize(binding, scope, attempt)

    async def _step_up(
        self, attempt: _Attempt, challenge: BearerChallenge | None
    ) -> TokenSet | None:
        """Re-authorize for the union of old and challenged scopes (C7); None to give up."""
        binding, sent = self._binding_for(attempt.url), attempt.sent
        needed = parse_scope(challenge.scope if challenge else None)
        if binding is None or sent is None or not needed:
            return None
        async with self._lock:
            current = await self.storage.get_tokens(binding.issuer, binding.resource)
            stepped_up = current is not None and current.access_token != sent.access_token
            if current is not None and stepped_up and needed <= current.scopes():
                return current  # a concurrent request already stepped up
            if needed <= sent.scopes():
                return None  # the token already holds it: more consent will not help
            scope = step_up_scope(binding.requested, sent.scopes(), needed)
            log.info("stepping up at %s to scope %s", binding.issuer, format_scope(scope))
            return await self._authorize(binding, scope, attempt)

    # --- building blocks ----------------------------------------------------------------

    def _binding_for(self, url: str) -> _Binding | None:
        """The discovered resource covering ``url``; the most specific one wins."""
        covering = [b for b in self._bindings.values() if resource_covers(b.resource, url)]
        return max(covering, key=lambda b: len(b.resource), default=None)

    def _bind(self, discovery: Discovery) -> _Binding:
        known = self._bindings.get(discovery.resource.resource)
        if known is not None and known.issuer == discovery.server.issuer:
            known.discovery = discovery
            return known
        binding = _Binding(discovery)
        self._bindings[binding.resource] = binding
        return binding

    async def _current_tokens(self, binding: _Binding) -> TokenSet | None:
        """The stored tokens, refreshed if they are about to expire; None if unusable."""
        tokens = await self.storage.get_tokens(binding.issuer, binding.resource)
        if tokens is None or not tokens.expires_within(self.clock.now(), self.refresh_skew_seconds):
            return tokens
        if tokens.refresh_token is None:
            return None
        return await self._refresh(binding, tokens)

    async def _refresh(self, binding: _Binding, tokens: TokenSet) -> TokenSet | None:
        """Refresh (RFC 6749 §6); None, with the tokens dropped, if the grant is gone (P8)."""
        client = await self._client(binding)
        try:
            fresh = await token_requests.refresh(
                self.http,
                binding.discovery.server.token_endpoint,
                client,
                tokens,
                resource=binding.resource,
                now=self.clock.now(),
            )
        except TokenError as exc:
            if exc.error not in _DEAD_GRANT | _DEAD_CLIENT:
                raise
            log.info("refresh refused at %s (%s); authorizing again", binding.issuer, exc.error)
            await self.storage.set_tokens(binding.issuer, binding.resource, None)
            if exc.error in _DEAD_CLIENT:
                await self.storage.set_client(binding.issuer, None)
            return None
        await self.storage.set_tokens(binding.issuer, binding.resource, fresh)
        return fresh

    async def _authorize(
        self, binding: _Binding, scope: frozenset[str], attempt: _Attempt
    ) -> TokenSet:
        """Run the flow for ``scope`` and store what it returns."""
        attempt.authorized = True
        client = await self._client(binding)
        ctx = FlowContext(
            http=self.http,
            server=binding.discovery.server,
            client=client,
            resource=binding.resource,
            scope=format_scope(scope),
            clock=self.clock,
        )
        log.info("authorizing %s at %s as %s", binding.resource, binding.issuer, client.client_id)
        try:
            tokens = await self.flow.authorize(ctx)
        except TokenError as exc:
            if exc.error in _DEAD_CLIENT and client.origin == "dynamic":
                await self.storage.set_client(binding.issuer, None)
            raise
        binding.requested = scope
        await self.storage.set_tokens(binding.issuer, binding.resource, tokens)
        return tokens

    async def _client(self, binding: _Binding) -> ClientCredentials:
        """The client at this issuer: configured, metadata document, stored or registered."""
        server = binding.discovery.server
        flow = self.flow
        stored = await self.storage.get_client(server.issuer)
        client = resolve_client(
            self.profile,
            server,
            stored,
            redirect_uris=flow.redirect_uris,
            grant_types=flow.grant_types,
        )
        if client is not None:
            return client
        request = build_registration_request(
            self.profile,
            redirect_uris=flow.redirect_uris,
            grant_types=flow.grant_types,
            auth_method=flow.auth_method,
        )
        client = await register_dynamically(self.http, server, request)
        log.info("registered at %s as %s", server.issuer, client.client_id)
        await self.storage.set_client(server.issuer, client)
        return client


def _with_bearer(request: httpx.Request, tokens: TokenSet | None) -> httpx.Request:
    """RFC 6750 §2.1: the token in the Authorization header, and nowhere else (C10)."""
    if tokens is not None:
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
    return request


def _insufficient_scope(response: httpx.Response, challenge: BearerChallenge | None) -> bool:
    return (
        response.status_code == 403
        and challenge is not None
        and challenge.error == "insufficient_scope"
    )
