"""Who may call the account API: a person, through their own app, with a token for it.

The connected-agents API (``/account/api/connections``) lets an account portal show and revoke
a person's connections. It is a protected resource of Warden itself (RFC 6750), so it takes a
Warden access token, never the session cookie: no cookie means no cross-site request forgery,
and a portal on another origin can call it (CORS without credentials). The token must be:

- live: signed by Warden, unexpired, not revoked, its grant active (as introspection checks);
- for this API: ``aud`` names ``<issuer>/account`` (RFC 8707; SEC-79), so a token minted
  for some MCP server is no key to the account;
- scoped: its ``scope`` covers ``account:connections``;
- the person's own: ``actor_type`` is ``human`` and there is no ``act``. An agent acting for
  the person may not list or revoke the agents acting for them. The catalogue also keeps the
  scope from agents and self-registered clients, so only an administrator's app obtains it.

Failures follow RFC 6750 §3.1: ``invalid_token`` (401) for a missing, dead or foreign token,
``insufficient_scope`` (403) for a live token that may not do this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from warden.errors import InsufficientScopeError, InvalidTokenError
from warden.oauth.introspection import TokenInspector
from warden.oauth.ports import Stores
from warden.oauth.registration import bearer_token
from warden.oauth.scopes import ACCOUNT_CONNECTIONS, covered_by, parse_scope

__all__ = ["ACCOUNT_RESOURCE_PATH", "AccountApiAuth", "AccountHolder"]

ACCOUNT_RESOURCE_PATH: Final = "/account"
"""Appended to the issuer: the resource indicator (and ``aud``) of account API tokens."""

_REALM = 'Bearer realm="warden-account"'


@dataclass(frozen=True, slots=True)
class AccountHolder:
    """The person the call is for, and the app (portal) that makes it."""

    user_id: str
    portal: str


class AccountApiAuth:
    """Checks the bearer token of an account API call."""

    def __init__(self, inspector: TokenInspector, *, audience: str) -> None:
        self._inspector = inspector
        self._audience = audience

    @property
    def audience(self) -> str:
        return self._audience

    async def authenticate(self, authorization: str | None, stores: Stores) -> AccountHolder:
        """:raises InvalidTokenError, InsufficientScopeError: as the module docstring says."""
        token = bearer_token(authorization)
        if token is None:
            # RFC 6750 §3.1: no error code in the challenge when no credentials were sent.
            raise InvalidTokenError("A bearer token is required", headers=_challenge())
        claims = await self._inspector.live_access_token(token, stores)
        if claims is None or not self._for_this_api(claims):
            raise InvalidTokenError(
                "The access token is invalid, expired, revoked or for another resource",
                headers=_challenge("invalid_token"),
            )
        if not covered_by([ACCOUNT_CONNECTIONS], parse_scope(_text(claims.get("scope")))):
            raise InsufficientScopeError(
                f"The token needs the scope {ACCOUNT_CONNECTIONS}",
                headers=_challenge("insufficient_scope"),
            )
        if claims.get("actor_type") != "human" or "act" in claims:
            raise InsufficientScopeError(
                "Only the person's own app may manage their connections",
                headers=_challenge("insufficient_scope"),
            )
        return AccountHolder(user_id=str(claims["sub"]), portal=str(claims.get("client_id")))

    def _for_this_api(self, claims: dict[str, Any]) -> bool:
        audience = claims.get("aud")
        values = audience if isinstance(audience, list) else [audience]
        return self._audience in values


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _challenge(error: str | None = None) -> dict[str, str]:
    """``WWW-Authenticate`` for this API (RFC 6750 §3)."""
    if error is None:
        return {"WWW-Authenticate": _REALM}
    extra = f', scope="{ACCOUNT_CONNECTIONS}"' if error == "insufficient_scope" else ""
    return {"WWW-Authenticate": f'{_REALM}, error="{error}"{extra}'}
