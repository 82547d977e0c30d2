"""Claim checks shared by local JWT validation and introspection (RFC 9068 §4, RFC 7662 §2.2).

Each check raises :class:`~warden.resource.errors.InvalidTokenError` with a reason for the
server's logs; the client only ever learns ``invalid_token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from warden.resource.errors import InvalidTokenError
from warden.resource.principal import Principal, actor_type_of, delegation_chain
from warden.resource.scopes import parse_scope_claim

__all__ = ["MAX_LEEWAY_SECONDS", "audience", "build_principal", "check_leeway", "check_times"]

MAX_LEEWAY_SECONDS: Final = 60.0


def check_leeway(leeway_seconds: float) -> float:
    """Clock-skew allowance: at most a minute (SEC-80)."""
    if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
        raise ValueError(f"leeway_seconds must be within 0..{MAX_LEEWAY_SECONDS:g} (SEC-80)")
    return float(leeway_seconds)


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidTokenError(f"no {name} claim")
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise InvalidTokenError(f"{name} is not a number")
    return float(value)


def check_times(
    claims: Mapping[str, Any], *, now: float, leeway: float, required: bool
) -> int | None:
    """``exp``, ``nbf`` and ``iat`` against ``now`` (RFC 7519 §4.1.4–4.1.6; SEC-80).

    ``required``: RFC 9068 §2.2 makes ``exp`` and ``iat`` mandatory in a JWT access token;
    introspection (RFC 7662 §2.2) makes every one optional. An ``iat`` in the future means a
    token minted by a clock that is wrong, or for later use: refused either way.

    :returns: ``exp`` as an integer, if there is one.
    """
    exp = _number(claims, "exp", required=required)
    iat = _number(claims, "iat", required=required)
    nbf = _number(claims, "nbf", required=False)
    if exp is not None and now >= exp + leeway:
        raise InvalidTokenError("expired")
    if iat is not None and iat > now + leeway:
        raise InvalidTokenError("issued in the future")
    if nbf is not None and nbf > now + leeway:
        raise InvalidTokenError("not valid yet")
    return None if exp is None else int(exp)


def audience(claims: Mapping[str, Any], resource: str) -> tuple[str, ...]:
    """Every ``aud`` value, provided this ``resource`` is among them, exactly.

    RFC 9068 §4 and RFC 8707: a token minted for another resource is refused here, which is
    what stops token passthrough and confused-deputy use (SEC-79; MCP RS5). No ``aud`` at all
    is refused too.
    """
    aud = claims.get("aud")
    values = (aud,) if isinstance(aud, str) else aud
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidTokenError("aud is missing or malformed")
    if resource not in values:
        raise InvalidTokenError("aud does not name this resource")
    return tuple(values)


def build_principal(
    claims: Mapping[str, Any],
    token: str,
    *,
    issuer: str,
    audience: tuple[str, ...],
    expires_at: int | None,
    subject_required: bool,
) -> Principal:
    """The :class:`Principal` of checked claims; refuses malformed identity claims.

    A token bound to a key (``cnf``: DPoP, RFC 9449 §6, or mTLS, RFC 8705 §3) is refused: it
    arrived as a plain bearer token, without the proof its binding demands (SEC-86).
    """
    if "cnf" in claims:
        raise InvalidTokenError("sender-constrained token used as a bearer token")
    client_id = claims.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise InvalidTokenError("client_id is missing or malformed")
    subject = claims.get("sub", None if subject_required else client_id)
    if not isinstance(subject, str) or not subject:
        raise InvalidTokenError("sub is missing or malformed")
    scopes = parse_scope_claim(claims.get("scope"))
    chain = delegation_chain(claims.get("act"))
    if scopes is None or chain is None:
        raise InvalidTokenError("scope or act is malformed")
    return Principal(
        subject=subject,
        client_id=client_id,
        scopes=scopes,
        audience=audience,
        issuer=issuer,
        expires_at=expires_at,
        actor_type=actor_type_of(claims.get("actor_type"), subject, client_id, chain),
        delegation_chain=chain,
        claims=MappingProxyType(dict(claims)),
        token=token,
    )
