"""Who is calling: the typed result of a verified access token.

Built from RFC 9068 claims (``sub``, ``client_id``, ``scope``, ``aud``), the RFC 8693 §4.1
``act`` claim (the actor acting for the subject, nested for delegation chains), and Warden's
``actor_type`` claim (``"human"``, ``"agent"`` or ``"service"``). Handlers branch on
:attr:`Principal.is_agent`, :attr:`Principal.user_id` and :meth:`Principal.has_scopes`, and call
:func:`require_scopes` to ask for a step-up.

The token itself rides along for handlers that need it, but it is never shown by ``repr`` and
must never be logged (SEC-88) or forwarded to another service (SEC-85, MCP "Token
Passthrough"): a downstream call needs its own token, with the downstream as audience.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from warden.resource.errors import InsufficientScopeError
from warden.resource.scopes import missing_scopes

__all__ = [
    "Actor",
    "ActorType",
    "Principal",
    "actor_type_of",
    "current_principal",
    "delegation_chain",
    "require_scopes",
    "reset_current_principal",
    "set_current_principal",
]

ActorType = Literal["human", "agent", "service"]
_ACTOR_TYPES: Final[Mapping[str, ActorType]] = {
    "human": "human",
    "agent": "agent",
    "service": "service",
}
MAX_DELEGATION_DEPTH: Final = 16

_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "warden_resource_principal", default=None
)


@dataclass(frozen=True, slots=True)
class Actor:
    """One party in an RFC 8693 ``act`` chain: who acted, with its claims minus nested ``act``."""

    subject: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def client_id(self) -> str | None:
        """The actor's OAuth client, when the ``act`` object names one (RFC 8693 §4.1)."""
        value = self.claims.get("client_id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified caller.

    :ivar subject: ``sub``: the person for a user grant, the client for one acting as itself.
    :ivar client_id: the OAuth client the token was issued to (RFC 9068 §2.2).
    :ivar scopes: the granted scopes.
    :ivar audience: every ``aud`` value; this resource's identifier is among them.
    :ivar delegation_chain: the ``act`` chain flattened, outermost (the current actor) first.
    :ivar actor_type: ``"agent"``, ``"human"`` or ``"service"``, from the ``actor_type`` claim;
        without it, ``"agent"`` if someone acts for the subject, ``"service"`` for a client
        acting as itself, else ``"human"``.
    :ivar claims: every claim, as verified.
    :ivar token: the access token; never log it (SEC-88), never forward it (SEC-85).
    """

    subject: str
    client_id: str
    scopes: frozenset[str]
    audience: tuple[str, ...]
    issuer: str
    expires_at: int | None
    actor_type: ActorType
    delegation_chain: tuple[Actor, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)
    token: str = field(default="", repr=False)

    @property
    def actor(self) -> Actor | None:
        """The party presenting the token for :attr:`subject` (the outermost ``act``), if any."""
        return self.delegation_chain[0] if self.delegation_chain else None

    @property
    def is_agent(self) -> bool:
        """True when an AI agent presents the token, for a person or for itself."""
        return self.actor_type == "agent"

    @property
    def kind(self) -> Literal["user", "client"]:
        """``"client"`` when a client acts as itself (its ``sub`` is its own ``client_id``).

        RFC 9068 §2.2 has ``sub`` name the client for grants with no resource owner; such a
        subject is never a user, whatever it looks like (SEC-87).
        """
        return "client" if self.subject == self.client_id and not self.delegation_chain else "user"

    @property
    def user_id(self) -> str | None:
        """The person the token speaks for, or None for a client acting as itself."""
        return self.subject if self.kind == "user" else None

    def has_scopes(self, *needed: str) -> bool:
        """True if the granted scopes cover every scope in ``needed``, hierarchy included."""
        return not missing_scopes(self.scopes, needed)


def require_scopes(principal: Principal, *needed: str) -> None:
    """Refuse the operation unless ``principal`` holds (or covers) every scope in ``needed``.

    Pass *all* the scopes the operation needs: the 403 challenge lists them, so a client
    steps up in one round trip (mcp-auth.md RS8).

    :raises InsufficientScopeError: rendered by :class:`~warden.resource.RequireBearer` as
        ``403`` with ``error="insufficient_scope"``.
    """
    if missing_scopes(principal.scopes, needed):
        raise InsufficientScopeError(needed)


def current_principal() -> Principal | None:
    """The principal of the request being handled, set by :class:`~warden.resource.RequireBearer`.

    A context variable, so it also reaches handlers the ``mcp`` SDK runs in other tasks (it
    propagates the request's context to tool calls).
    """
    return _current.get()


def set_current_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    """Make ``principal`` current; the middleware resets it with the returned token."""
    return _current.set(principal)


def reset_current_principal(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)


def delegation_chain(act: object) -> tuple[Actor, ...] | None:
    """Flatten a nested RFC 8693 ``act`` claim, outermost first; None if malformed."""
    chain: list[Actor] = []
    while act is not None:
        if not isinstance(act, Mapping) or len(chain) >= MAX_DELEGATION_DEPTH:
            return None
        subject = act.get("sub")
        if not isinstance(subject, str) or not subject:
            return None
        own = {k: v for k, v in act.items() if k != "act"}
        chain.append(Actor(subject=subject, claims=MappingProxyType(own)))
        act = act.get("act")
    return tuple(chain)


def actor_type_of(
    claim: object, subject: str, client_id: str, chain: tuple[Actor, ...]
) -> ActorType:
    """The ``actor_type`` claim if valid, else inferred from the delegation (see Principal)."""
    if isinstance(claim, str) and claim in _ACTOR_TYPES:
        return _ACTOR_TYPES[claim]
    if chain:
        return "agent"
    return "service" if subject == client_id else "human"
