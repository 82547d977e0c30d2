"""Minting the token response of a grant (RFC 6749 §5.1, RFC 9068, RFC 8693 §4.1).

Every grant ends here. One access token (a JWT, RFC 9068) and, for a grant that may be
refreshed, one opaque refresh token stored only as a digest (SEC-108).

Who the token speaks for is decided in :func:`subject_claims`, the one place that knows the
claim vocabulary:

``sub``
    The principal: the person for a user grant; the client itself for ``client_credentials``
    (user ids are ``usr_``-prefixed, so they never collide with a client_id, SEC-40).
``act``
    RFC 8693 §4.1: present exactly when the presenter is not the principal, as
    ``{"sub": <client_id>}``. An agent or service acting for a person has one; a person's own
    app (client kind ``app``) and a client acting as itself do not. After token exchange the
    earlier actors nest inside it, the current actor outermost:
    ``{"sub": "agent-2", "act": {"sub": "agent-1"}}`` (:attr:`Grant.actor_chain`).
``actor_type``
    Who presents the token, in one claim a resource can branch on: ``"human"`` (a person
    through their own app), ``"agent"`` (an AI agent, for a person or itself) or
    ``"service"`` (a backend service, for a person or itself). Only ``"human"`` tokens of a
    person lack ``act``.
``auth_time``
    When the person signed in (user grants only).

Refresh tokens are issued when the client registered the ``refresh_token`` grant type: MCP
clients rely on them, and the grant's absolute and idle lifetimes bound them (SEC-35).
Requesting ``offline_access`` is therefore not required; a catalogue may still offer the
scope so clients that add it (AS28) are not refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from warden.clock import Clock
from warden.errors import InvalidRequestError
from warden.oauth.model import AuditEvent, Client, Grant, RefreshToken
from warden.oauth.ports import KeyStore, Stores
from warden.oauth.secrets import SecretHasher, new_token
from warden.settings import TokenSettings

__all__ = [
    "AccessTokens",
    "ActorType",
    "Delegation",
    "Subject",
    "TokenMinter",
    "TokenResponse",
    "act_claim",
    "actor_type",
    "seconds_left",
    "subject_claims",
]

ActorType = Literal["human", "agent", "service"]


class _IssuedToken(Protocol):
    @property
    def token(self) -> str: ...
    @property
    def jti(self) -> str: ...
    @property
    def expires_at(self) -> int: ...


class AccessTokens(Protocol):
    """What :class:`warden.tokens.access_token.AccessTokenIssuer` offers."""

    def issue(
        self,
        *,
        sub: str,
        client_id: str,
        audience: str,
        scope: str,
        ttl_seconds: int,
        grant_id: str | None,
        extra_claims: Mapping[str, Any] = ...,
    ) -> _IssuedToken: ...

    def verify(self, token: str) -> dict[str, Any] | None: ...

    async def verify_fresh(
        self, token: str, store: KeyStore, max_age_seconds: float
    ) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The successful token response (RFC 6749 §5.1; RFC 8693 §2.2.1 for exchanges)."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    token_type: str = "Bearer"
    issued_token_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
        if self.issued_token_type is not None:
            body["issued_token_type"] = self.issued_token_type
        if self.scope:
            body["scope"] = self.scope
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


def actor_type(client: Client, *, for_user: bool) -> ActorType:
    """Who presents a token of ``client``: a person, an agent or a service.

    ``for_user``: the client presents a person's token as that person's own app would, with
    nobody acting in between; an ``app`` client doing anything else is a service.
    """
    if client.kind == "agent":
        return "agent"
    if client.kind == "app" and for_user:
        return "human"
    return "service"


def act_claim(actors: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Nest an actor chain, current actor first, into one ``act`` claim (RFC 8693 §4.1).

    ``({"sub": "agent-2"}, {"sub": "agent-1"})`` gives
    ``{"sub": "agent-2", "act": {"sub": "agent-1"}}``: the outermost ``act`` is the current
    actor, the most deeply nested one the earliest.
    """
    act: dict[str, Any] | None = None
    for actor in reversed(actors):
        act = {**actor, "act": act} if act is not None else dict(actor)
    return act


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom a token speaks for (``sub``) and who presents it (module docstring)."""

    sub: str
    actor_type: ActorType
    actors: tuple[Mapping[str, Any], ...] = ()
    """The actors, current one first; empty when the principal presents the token itself."""
    auth_time: float | None = None

    @classmethod
    def of(cls, client: Client, grant: Grant | None) -> Subject:
        """The subject of ``client``'s tokens from ``grant``.

        ``grant`` is None, or has no user, when the client acts as itself. A grant made by
        token exchange names its actors (:attr:`Grant.actor_chain`); any other has the client
        as its only actor, unless it is the person's own app.
        """
        if grant is None or grant.user_id is None:
            return cls(client.client_id, actor_type(client, for_user=False))
        actors = tuple(grant.actor_chain)
        presenter = actor_type(client, for_user=not actors)
        if not actors and presenter != "human":
            actors = ({"sub": client.client_id},)
        return cls(grant.user_id, presenter, actors, grant.auth_time)

    def claims(self) -> dict[str, Any]:
        """The claims besides ``sub``: ``actor_type``, ``act`` and ``auth_time``."""
        claims: dict[str, Any] = {"actor_type": self.actor_type}
        if self.actors:
            claims["act"] = act_claim(self.actors)
        if self.auth_time is not None:
            claims["auth_time"] = int(self.auth_time)
        return claims


def subject_claims(client: Client, grant: Grant | None) -> tuple[str, dict[str, Any]]:
    """``sub`` and the presenter claims of a token of ``client`` from ``grant``."""
    subject = Subject.of(client, grant)
    return subject.sub, subject.claims()


def seconds_left(not_after: int, now: float) -> int:
    """Whole seconds a token issued now may live to expire no later than ``not_after``.

    Counted from the next whole second: the issuer truncates ``now`` and adds the lifetime,
    so the token's ``exp`` stays at or before ``not_after`` even if a second boundary passes
    between here and signing.
    """
    return not_after - math.ceil(now)


@dataclass(frozen=True, slots=True)
class Delegation:
    """What a token exchange (RFC 8693) adds to minting a grant's token."""

    not_after: int
    """The subject token's ``exp``: the new token never outlives it (RFC 8693 §5, SEC-99)."""
    refreshable: bool = False
    """The grant is the exchange's own stored family, so a refresh token may come with it."""
    audit: Mapping[str, Any] = field(default_factory=dict)
    """Recorded with the ``token.exchanged`` event: the subject token and the actor chain."""


class TokenMinter:
    """Signs access tokens, stores refresh tokens and records what was issued."""

    def __init__(
        self,
        *,
        access_tokens: AccessTokens,
        hasher: SecretHasher,
        clock: Clock,
        settings: TokenSettings,
    ) -> None:
        self.access_tokens = access_tokens
        self._hasher = hasher
        self._clock = clock
        self._settings = settings

    async def mint(
        self,
        stores: Stores,
        *,
        client: Client,
        grant: Grant | None,
        scope: str,
        audience: str,
        grant_type: str,
        source: str | None = None,
        delegation: Delegation | None = None,
    ) -> TokenResponse:
        """Issue the tokens of one successful grant request.

        A refresh token comes with user grants of clients registered for ``refresh_token``;
        it carries the grant's full scope and resources, whatever this access token narrowed
        to (SEC-34), and expires at the idle timeout or the grant's end, whichever is first.
        A token exchange (``delegation``) gets one only for a grant of its own, and its
        access token expires no later than the subject token (SEC-99).
        """
        subject = Subject.of(client, grant)
        ttl = self._lifetime(grant, delegation)
        issued = self.access_tokens.issue(
            sub=subject.sub,
            client_id=client.client_id,
            audience=audience,
            scope=scope,
            ttl_seconds=ttl,
            grant_id=grant.grant_id if grant is not None else None,
            extra_claims=subject.claims(),
        )
        refresh = None
        if grant is not None and _refreshable(client, grant, delegation):
            refresh = await self._store_refresh_token(stores, grant)
        data = {"grant_type": grant_type, "scope": scope, "aud": audience, "jti": issued.jti}
        await self._record(
            stores,
            client,
            grant,
            event="token.exchanged" if delegation is not None else "token.issued",
            presenter=subject.actor_type,
            source=source,
            data={**data, **(delegation.audit if delegation is not None else {})},
        )
        return TokenResponse(
            access_token=issued.token, expires_in=ttl, scope=scope, refresh_token=refresh
        )

    def _lifetime(self, grant: Grant | None, delegation: Delegation | None) -> int:
        ttl = (
            self._settings.access_token_ttl_seconds
            if grant is not None
            else self._settings.client_credentials_ttl_seconds
        )
        if delegation is not None:
            ttl = min(ttl, seconds_left(delegation.not_after, self._clock.now()))
            if ttl < 1:  # the subject token expired while the exchange ran
                raise InvalidRequestError("The subject_token is invalid, expired or revoked")
        return ttl

    async def _store_refresh_token(self, stores: Stores, grant: Grant) -> str:
        now = self._clock.now()
        value = new_token(32)
        await stores.refresh_tokens.add(
            RefreshToken(
                token_hash=self._hasher.digest(value),
                grant_id=grant.grant_id,
                client_id=grant.client_id,
                scope=grant.scope,
                resources=grant.resources,
                issued_at=now,
                expires_at=min(now + self._settings.refresh_token_idle_seconds, grant.expires_at),
            )
        )
        return value

    async def _record(
        self,
        stores: Stores,
        client: Client,
        grant: Grant | None,
        *,
        event: str,
        presenter: str,
        source: str | None,
        data: Mapping[str, Any],
    ) -> None:
        now = self._clock.now()
        user_id = grant.user_id if grant is not None else None
        await stores.audit.record(
            AuditEvent(
                event=event,
                at=now,
                client_id=client.client_id,
                user_id=user_id,
                actor_type=presenter,
                grant_id=grant.grant_id if grant is not None else None,
                source=source,
                data=data,
            )
        )
        if user_id is not None:
            consent = await stores.consents.get(user_id, client.client_id)
            if consent is not None:
                await stores.consents.put(replace(consent, last_used_at=now))


def _refreshable(client: Client, grant: Grant, delegation: Delegation | None) -> bool:
    """A client registered for refresh tokens, unless an exchange's grant is not its own."""
    if delegation is not None and not delegation.refreshable:
        return False
    return "refresh_token" in client.grant_types
