"""Fine-grained scopes: the catalogue, the grammar and hierarchical matching.

A scope is colon-separated segments, broadest first: ``read:calendar`` covers
``read:calendar:next-7-days`` (a request for the narrower one is satisfied by a grant of the
broader one), never the reverse. Scope tokens follow RFC 6749 §3.3 (``%x21 / %x23-5B /
%x5D-7E``). The catalogue says, for each scope, what a person reads on the consent page, how
sensitive it is, and whether agents or self-registered clients may hold it at all.

The one catalogue object is shared by every component that checks scopes, so reloading it
(:mod:`warden.oauth.scope_reload`) swaps its entries in place, in one assignment: a reader
sees the old catalogue or the new one, never a mix.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from warden.errors import InvalidScopeError

__all__ = [
    "ACCOUNT_CONNECTIONS",
    "DEFAULT_CATALOGUE",
    "ScopeCatalogue",
    "ScopeEntry",
    "covered_by",
    "covers",
    "format_scope",
    "parse_scope",
]

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,128}$")
MAX_SCOPES = 64

Sensitivity = Literal["low", "medium", "high"]

ACCOUNT_CONNECTIONS = "account:connections"
"""Lets a person's own first-party app list and revoke their connections (account API)."""


def parse_scope(value: str | None) -> frozenset[str]:
    """Split a ``scope`` parameter (RFC 6749 §3.3) and check each token's syntax."""
    if not value:
        return frozenset()
    tokens = value.split(" ")
    if len(tokens) > MAX_SCOPES or any(not _SCOPE_TOKEN.match(t) for t in tokens):
        raise InvalidScopeError("Malformed scope")
    return frozenset(tokens)


def format_scope(scopes: Iterable[str]) -> str:
    """The canonical ``scope`` string: sorted, space-separated."""
    return " ".join(sorted(scopes))


def covers(granted: str, requested: str) -> bool:
    """True if holding ``granted`` satisfies a need for ``requested`` (segment prefix)."""
    return requested == granted or requested.startswith(granted + ":")


def covered_by(requested: Iterable[str], granted: Iterable[str]) -> bool:
    """True if every requested scope is covered by some granted scope."""
    held = list(granted)
    return all(any(covers(g, r) for g in held) for r in requested)


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    name: str
    description: str
    sensitivity: Sensitivity = "low"
    agents: bool = True
    """Whether a client of kind ``agent`` may hold this scope at all."""
    self_registered: bool = True
    """Whether dynamically registered and CIMD clients may hold it (SEC-16, SEC-46)."""


DEFAULT_CATALOGUE: Mapping[str, Mapping[str, Any]] = {
    "offline_access": {
        "description": "Stay connected when you are not using it (refresh tokens)",
        "sensitivity": "medium",
    },
    "read:calendar": {"description": "Read your whole calendar", "sensitivity": "medium"},
    "read:calendar:next-7-days": {"description": "See your calendar events for the next 7 days"},
    "write:email:draft-only-no-send": {
        "description": "Write email drafts for you, without sending them",
        "sensitivity": "medium",
    },
    "write:email:send": {"description": "Send email as you", "sensitivity": "high"},
    ACCOUNT_CONNECTIONS: {
        "description": "See and remove the agents and apps connected to your account",
        "sensitivity": "high",
        "agents": False,
        "self_registered": False,
    },
    "admin": {
        "description": "Administer Warden",
        "sensitivity": "high",
        "agents": False,
        "self_registered": False,
    },
}


class ScopeCatalogue:
    """The scopes Warden knows, loaded from the built-in defaults or a TOML file.

    The TOML file has one table per scope::

        [scopes."read:calendar"]
        description = "Read your whole calendar"
        sensitivity = "medium"        # low | medium | high
        agents = true                 # may agents hold it?
        self_registered = true        # may DCR / CIMD clients hold it?
    """

    def __init__(self, entries: Iterable[ScopeEntry]) -> None:
        self._entries = {e.name: e for e in entries}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Mapping[str, Any]]) -> ScopeCatalogue:
        """:raises ValueError: a scope name or one of its fields is not valid."""
        return cls(_entry(name, spec) for name, spec in data.items())

    @classmethod
    def load(cls, path: Path | None) -> ScopeCatalogue:
        """The built-in catalogue, or the file's ``[scopes]`` tables.

        :raises OSError: the file cannot be read.
        :raises ValueError: it is not TOML, or not a valid catalogue.
        """
        if path is None:
            return cls.from_mapping(DEFAULT_CATALOGUE)
        with path.open("rb") as f:
            data = tomllib.load(f)
        scopes = data.get("scopes", {})
        if not isinstance(scopes, dict):
            raise ValueError("[scopes] must be a table of scope tables")
        return cls.from_mapping(scopes)

    def replace_entries(self, other: ScopeCatalogue) -> None:
        """Take ``other``'s scopes, in one reference assignment (see the module docstring)."""
        self._entries = other._entries

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Any:
        return iter(self._entries.values())

    def get(self, name: str) -> ScopeEntry | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def check_known(self, scopes: Iterable[str]) -> None:
        """Every scope must be in the catalogue (``invalid_scope`` otherwise)."""
        unknown = sorted(s for s in scopes if s not in self._entries)
        if unknown:
            raise InvalidScopeError(f"Unknown scope: {unknown[0]}")

    def check_allowed(self, scopes: Iterable[str], *, kind: str, origin: str) -> None:
        """Refuse scopes the catalogue forbids to agents or to self-registered clients."""
        for name in scopes:
            entry = self._entries.get(name)
            if entry is None:
                raise InvalidScopeError(f"Unknown scope: {name}")
            if kind == "agent" and not entry.agents:
                raise InvalidScopeError(f"Scope not available to agents: {name}")
            if origin in ("dynamic", "cimd") and not entry.self_registered:
                raise InvalidScopeError(f"Scope not available to this client: {name}")


_FIELD_TYPES: Mapping[str, type] = {"description": str, "agents": bool, "self_registered": bool}
_SENSITIVITIES = ("low", "medium", "high")


def _entry(name: str, spec: Any) -> ScopeEntry:
    """One catalogue entry, checked field by field so a bad file names its mistake."""
    if not isinstance(name, str) or not _SCOPE_TOKEN.match(name):
        raise ValueError(f"scope {name!r} is not a valid scope token (RFC 6749 §3.3)")
    if not isinstance(spec, Mapping):
        raise ValueError(f"scope {name!r} must be a table")
    unknown = set(spec) - {*_FIELD_TYPES, "sensitivity"}
    if unknown:
        raise ValueError(f"scope {name!r} has unknown fields: {', '.join(sorted(unknown))}")
    for field, kind in _FIELD_TYPES.items():
        if field in spec and not isinstance(spec[field], kind):
            raise ValueError(f"scope {name!r}: {field} must be a {kind.__name__}")
    if "description" not in spec:
        raise ValueError(f"scope {name!r} needs a description")
    if spec.get("sensitivity", "low") not in _SENSITIVITIES:
        raise ValueError(f"scope {name!r}: sensitivity must be low, medium or high")
    return ScopeEntry(name=name, **dict(spec))
