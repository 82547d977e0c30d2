"""Scope values and their hierarchy, as a resource server sees them.

A scope token follows RFC 6749 §3.3 (``%x21 / %x23-5B / %x5D-7E``). Scopes are colon-separated
segments, broadest first, and a broader scope covers every narrower one: ``read:calendar``
satisfies a need for ``read:calendar:next-7-days``, never the reverse (MCP 2026-07-28
authorization, "Servers MUST account for scope hierarchies"; mcp-auth.md RS9).

This duplicates a few lines of :mod:`warden.oauth.scopes` on purpose: the resource library
must work with any authorization server and import nothing of Warden's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["check_scopes", "covers", "missing_scopes", "parse_scope_claim"]

_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,256}")

OFFLINE_ACCESS = "offline_access"


def covers(granted: str, needed: str) -> bool:
    """True if holding ``granted`` satisfies a need for ``needed`` (colon-segment prefix)."""
    return needed == granted or needed.startswith(granted + ":")


def missing_scopes(granted: Iterable[str], needed: Iterable[str]) -> frozenset[str]:
    """The scopes in ``needed`` that no scope in ``granted`` covers."""
    held = tuple(granted)
    return frozenset(n for n in needed if not any(covers(g, n) for g in held))


def check_scopes(scopes: Iterable[str], *, what: str) -> tuple[str, ...]:
    """Validate scopes a server author configured; sorted, without duplicates.

    ``offline_access`` is refused: a resource never asks for it (MCP 2026-07-28, Refresh
    Tokens; mcp-auth.md RS10), the authorization server decides about refresh tokens.

    :raises ValueError: a value is not an RFC 6749 scope token, or is ``offline_access``.
    """
    if isinstance(scopes, str):
        raise ValueError(f"{what} must be a collection of scopes, not one string")
    values = tuple(scopes)
    for value in values:
        if not isinstance(value, str) or not _SCOPE_TOKEN.fullmatch(value):
            raise ValueError(f"{what}: {value!r} is not a scope token (RFC 6749 §3.3)")
        if value == OFFLINE_ACCESS:
            raise ValueError(f"{what} must not list offline_access (MCP RS10)")
    return tuple(sorted(set(values)))


def parse_scope_claim(value: object) -> frozenset[str] | None:
    """The scopes of a ``scope`` claim (RFC 9068 §2.2.3, RFC 8693 §4.2), or None if malformed.

    The claim is one space-separated string; anything else is refused rather than guessed at.
    """
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        return None
    tokens = [t for t in value.split(" ") if t]
    if not all(_SCOPE_TOKEN.fullmatch(t) for t in tokens):
        return None
    return frozenset(tokens)
