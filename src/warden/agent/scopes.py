"""Which scopes to ask for: MCP scope selection (C6) and step-up (C7).

- First authorization: the ``scope`` of the 401 challenge; else the resource metadata's
  ``scopes_supported`` (RFC 9728 §2); else the agent's own default; else no ``scope`` at all.
  Authorizing again at the same server after a 401 adds what was asked for there before.
- Step-up after ``403 insufficient_scope`` (RFC 6750 §3.1, MCP 2026-07-28): the union of
  what was asked for before, what the current token holds and what the challenge names, so
  that gaining one permission never loses another.
"""

from __future__ import annotations

from collections.abc import Iterable

from warden.agent.challenge import BearerChallenge
from warden.agent.discovery import ResourceMetadata

__all__ = ["format_scope", "initial_scope", "parse_scope", "step_up_scope"]


def parse_scope(value: str | None) -> frozenset[str]:
    """The scope tokens of a space-delimited ``scope`` value (RFC 6749 §3.3)."""
    return frozenset((value or "").split())


def format_scope(scopes: Iterable[str]) -> str | None:
    """A ``scope`` parameter (sorted, so equal sets give equal strings), or None if empty."""
    return " ".join(sorted(scopes)) or None


def initial_scope(
    challenge: BearerChallenge | None, resource: ResourceMetadata, default: str | None
) -> frozenset[str]:
    """C6: the challenge's scope, else the resource's ``scopes_supported``, else ``default``."""
    if challenge is not None and parse_scope(challenge.scope):
        return parse_scope(challenge.scope)
    if resource.scopes_supported:
        return frozenset(resource.scopes_supported)
    return parse_scope(default)


def step_up_scope(
    requested: Iterable[str], held: Iterable[str], challenged: Iterable[str]
) -> frozenset[str]:
    """C7: the union of the previous request, the granted scope and the challenged scope."""
    return frozenset(requested) | frozenset(held) | frozenset(challenged)
