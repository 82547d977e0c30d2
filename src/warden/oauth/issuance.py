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
    app (client kind ``app``) and a client acting as itself do not.
``actor_type``
    Who presents the token, in one claim a resource can branch on: ``"human"`` (a person
    through their own app), ``"agent"`` (an AI agent, for a person or itself) or
    ``"service"`` (a backend service, for a person or itself).
``auth_time``
    When the person signed in (user grants only).

Refresh tokens are issued when the client registered the ``refresh_token`` grant type: MCP
clients rely on them, and the grant's absolute and idle lifetimes bound them (SEC-35).
Requesting ``offline_access`` is therefore not required; a catalogue may still offer the
scope so clients that add it (AS28) are not refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from warden.clock import Clock
from warden.oauth.model import AuditEvent, Client, Grant, RefreshToken
from warden.oauth.ports import Stores
from warden.oauth.secrets import SecretHasher, new_token
from warden.settings import TokenSettings

__all__ = [
    "AccessTokens",
    "ActorType",
    "TokenMinter",
    "TokenResponse",
    "actor_type",
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


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The successful token response (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    token_type: str = "Bearer"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
        if self.scope:
            body["scope"] = self.scope
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


def actor_type(client: Client, *, for_user: bool) -> ActorType:
    """Who presents a token of ``client``: a person, an agent or a service."""
    if client.kind == "agent":
        return "agent"
    if client.kind == "app" and for_user:
        return "human"
    return "service"


def subject_claims(client: Client, grant: Grant | None) -> tuple[str, dict[str, Any]]:
    """``sub`` and the presenter claims of a token (module docstring; issue 4 extends this).

    ``grant`` is None, or has no user, when the client acts as itself.
    """
    user_id = grant.user_id if grant is not None else None
    if user_id is None:
        return client.client_id, {"actor_type": actor_type(client, for_user=False)}
    claims: dict[str, Any] = {"actor_type": actor_type(client, for_user=True)}
    if claims["actor_type"] != "human":
        claims["act"] = {"sub": client.client_id}
    if grant is not None and grant.auth_time is not None:
        claims["auth_time"] = int(grant.auth_time)
    return user_id, claims


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
    ) -> TokenResponse:
        """Issue the tokens of one successful grant request.

        A refresh token comes with user grants of clients registered for ``refresh_token``;
        it carries the grant's full scope and resources, whatever this access token narrowed
        to (SEC-34), and expires at the idle timeout or the grant's end, whichever is first.
        """
        ttl = (
            self._settings.access_token_ttl_seconds
            if grant is not None
            else self._settings.client_credentials_ttl_seconds
        )
        sub, extra = subject_claims(client, grant)
        issued = self.access_tokens.issue(
            sub=sub,
            client_id=client.client_id,
            audience=audience,
            scope=scope,
            ttl_seconds=ttl,
            grant_id=grant.grant_id if grant is not None else None,
            extra_claims=extra,
        )
        refresh = None
        if grant is not None and "refresh_token" in client.grant_types:
            refresh = await self._store_refresh_token(stores, grant)
        await self._record(
            stores,
            client,
            grant,
            presenter=extra["actor_type"],
            source=source,
            data={"grant_type": grant_type, "scope": scope, "aud": audience, "jti": issued.jti},
        )
        return TokenResponse(
            access_token=issued.token, expires_in=ttl, scope=scope, refresh_token=refresh
        )

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
        presenter: str,
        source: str | None,
        data: Mapping[str, Any],
    ) -> None:
        now = self._clock.now()
        user_id = grant.user_id if grant is not None else None
        await stores.audit.record(
            AuditEvent(
                event="token.issued",
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
