"""Token exchange (RFC 8693): the tokens presented, and the delegation rules they decide.

https://www.rfc-editor.org/rfc/rfc8693

Every decision here is taken on the claims of a validated token, never on which parameters
the request happened to carry. Keycloak's first delegation release let a client skip the actor
checks by leaving ``actor_token`` out (keycloak#52691); here the actor is always the
authenticated client, and an ``actor_token``, when sent, must prove exactly that.

The rules, each refused with ``invalid_request`` (RFC 8693 §2.2.2):

- **Subject token** (§2.1): a live Warden access token, type
  ``urn:ietf:params:oauth:token-type:access_token`` only: signature, ``typ``, ``iss``,
  ``exp``, the denylist and its grant, exactly as introspection checks them (SEC-95).
- **Whose token** (SEC-95): the exchanging client must be the token's client, or named in its
  ``aud``, or serve a resource in its ``aud`` (``resource_servers``, the same list that lets
  a resource server introspect the tokens presented to it). A token taken from some other
  resource server cannot be traded by whoever holds it.
- **A client acting as itself** (``sub`` = ``client_id``, no ``act``) is exchanged by that
  client only: Warden delegates for people, so ``sub`` never names a client behind an ``act``.
- **Actor** (§1.1, §4.1): the authenticated client. An ``actor_token`` must be the client's
  own token as itself (SEC-98).
- **may_act** (§4.4): if the subject token has one, its ``sub`` (and ``iss``, if present) must
  name the actor (SEC-98).
- **Chain** (§4.1): a new actor goes in front of the earlier ones; the party the token was
  issued to carries on without adding a hop. At most ``exchange.max_chain_depth`` actors
  (SEC-97).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from warden.errors import InvalidRequestError
from warden.oauth.introspection import TokenInspector
from warden.oauth.model import Client
from warden.oauth.ports import Stores
from warden.oauth.requests import Params
from warden.oauth.scopes import parse_scope

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "Actors",
    "PresentedToken",
    "check_actor_token",
    "check_may_act",
    "check_whose",
    "next_actors",
    "subject_token",
]

ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"
"""RFC 8693 §3: the one token type Warden exchanges and issues."""

Actors = tuple[Mapping[str, Any], ...]
"""An actor chain, current actor first (:attr:`warden.oauth.model.Grant.actor_chain`)."""


@dataclass(frozen=True, slots=True)
class PresentedToken:
    """A live Warden access token presented for exchange, as its verified claims say."""

    sub: str
    client_id: str
    audience: tuple[str, ...]
    scope: frozenset[str]
    expires_at: int
    jti: str
    grant_id: str | None
    actors: Actors
    """The ``act`` chain flattened, current actor first."""
    may_act: Mapping[str, Any] | None

    @property
    def is_client_itself(self) -> bool:
        """A client acting as itself: ``sub`` is its own ``client_id`` and nobody acts."""
        return self.sub == self.client_id and not self.actors


async def subject_token(
    form: Params, inspector: TokenInspector, stores: Stores, *, max_depth: int
) -> PresentedToken:
    """The validated ``subject_token`` of the request (RFC 8693 §2.1, SEC-95).

    :raises InvalidRequestError: missing, of another type, or not a live Warden access token.
    """
    token = form.require("subject_token")
    if form.require("subject_token_type") != ACCESS_TOKEN_TYPE:
        raise InvalidRequestError("Unsupported subject_token_type")
    claims = await inspector.live_access_token(token, stores)
    if claims is None:
        raise InvalidRequestError("The subject_token is invalid, expired or revoked")
    return _presented(claims, max_depth=max_depth)


async def check_actor_token(
    form: Params, inspector: TokenInspector, stores: Stores, client: Client
) -> None:
    """An ``actor_token``, if sent, is ``client``'s own live token as itself (SEC-98).

    RFC 8693 §2.1: ``actor_token_type`` is required with ``actor_token`` and must not come
    without it. Sent or not, the actor is the authenticated client.
    """
    token, token_type = form.get("actor_token"), form.get("actor_token_type")
    if token is None:
        if token_type is not None:
            raise InvalidRequestError("actor_token_type without actor_token")
        return
    if token_type != ACCESS_TOKEN_TYPE:
        raise InvalidRequestError("Unsupported actor_token_type")
    claims = await inspector.live_access_token(token, stores)
    if claims is None:
        raise InvalidRequestError("The actor_token is invalid, expired or revoked")
    if claims["client_id"] != client.client_id or claims["sub"] != client.client_id:
        raise InvalidRequestError("The actor_token must be the client's own token")
    if "act" in claims:
        raise InvalidRequestError("The actor_token must be the client's own token")


def check_whose(token: PresentedToken, client: Client, serves: Sequence[str]) -> None:
    """The client may exchange ``token``: it is the token's, or the token is for it (SEC-95)."""
    if token.is_client_itself:
        if token.sub != client.client_id:
            raise InvalidRequestError("A client's token as itself is exchanged by it alone")
        return
    if token.client_id == client.client_id or client.client_id in token.audience:
        return
    served = {uri.rstrip("/") for uri in serves}
    if not any(aud.rstrip("/") in served for aud in token.audience):
        raise InvalidRequestError("The subject_token was not issued to this client")


def check_may_act(token: PresentedToken, actor: str, issuer: str) -> None:
    """RFC 8693 §4.4: ``may_act`` names the only party that may act for the subject (SEC-98)."""
    may_act = token.may_act
    if may_act is None:
        return
    if may_act.get("sub") != actor or may_act.get("iss", issuer) != issuer:
        raise InvalidRequestError("The subject_token does not allow this actor")


def next_actors(token: PresentedToken, actor: str, *, max_depth: int) -> Actors:
    """The actor chain of the new token, current actor first (RFC 8693 §4.1; SEC-97).

    The client the token was issued to carries on as the same actor: no new hop. Anyone
    else is a new actor in front of the earlier ones.
    """
    if actor == token.client_id:
        return token.actors
    actors = ({"sub": actor}, *token.actors)
    if len(actors) > max_depth:
        raise InvalidRequestError("The delegation chain would be too deep")
    return actors


def _presented(claims: Mapping[str, Any], *, max_depth: int) -> PresentedToken:
    """Read the claims Warden wrote; anything malformed fails closed."""
    aud = claims["aud"]
    grant_id, may_act = claims.get("grant_id"), claims.get("may_act")
    if grant_id is not None and not isinstance(grant_id, str):
        raise InvalidRequestError("The subject_token is malformed")
    if may_act is not None and not isinstance(may_act, dict):
        raise InvalidRequestError("The subject_token has a malformed may_act claim")
    return PresentedToken(
        sub=claims["sub"],
        client_id=claims["client_id"],
        audience=(aud,) if isinstance(aud, str) else tuple(aud),
        scope=_scope(claims.get("scope")),
        expires_at=int(claims["exp"]),
        jti=claims["jti"],
        grant_id=grant_id,
        actors=_actors(claims.get("act"), max_depth=max_depth),
        may_act=may_act,
    )


def _scope(value: object) -> frozenset[str]:
    if value is not None and not isinstance(value, str):
        raise InvalidRequestError("The subject_token is malformed")
    return parse_scope(value)


def _actors(act: object, *, max_depth: int) -> Actors:
    """Flatten a nested ``act`` claim, outermost first; each level must name a ``sub``."""
    actors: list[Mapping[str, Any]] = []
    while act is not None:
        if not isinstance(act, dict) or not isinstance(act.get("sub"), str):
            raise InvalidRequestError("The subject_token has a malformed act claim")
        if len(actors) == max_depth:
            raise InvalidRequestError("The delegation chain is too deep")
        actors.append({k: v for k, v in act.items() if k != "act"})
        act = act.get("act")
    return tuple(actors)
