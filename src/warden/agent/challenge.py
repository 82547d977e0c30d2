"""Reading ``WWW-Authenticate`` challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).

A resource server answers 401 with ``Bearer resource_metadata="..."`` (where to start
discovery) and 403 with ``Bearer error="insufficient_scope", scope="..."`` (what to step up
to). A header may hold several challenges (``DPoP ..., Bearer ...``) and several header
lines may be present; only the ``Bearer`` one matters here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

__all__ = ["BearerChallenge", "bearer_challenge", "parse_challenges"]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"({_TOKEN})[ \t]*=[ \t]*({_TOKEN}|{_QUOTED})[ \t]*(?=,|$)")
_TOKEN68 = re.compile(r"[ \t]+[A-Za-z0-9\-._~+/]+=*[ \t]*(?=,|$)")
_SCHEME = re.compile(rf"({_TOKEN})(?=[ \t]|,|$)")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class BearerChallenge:
    """The parameters of a ``Bearer`` challenge; names are matched case-insensitively."""

    params: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        """``invalid_token``, ``insufficient_scope``, ... (RFC 6750 §3.1)."""
        return self.params.get("error")

    @property
    def scope(self) -> str | None:
        """The scopes the resource needs for this request (RFC 6750 §3)."""
        return self.params.get("scope")

    @property
    def resource_metadata(self) -> str | None:
        """Where the Protected Resource Metadata is (RFC 9728 §5.1)."""
        return self.params.get("resource_metadata")


def parse_challenges(values: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """``(scheme, params)`` for every challenge in the header values, schemes lowercased.

    Malformed text ends parsing of that header value; what was read before it is kept.
    """
    found: list[tuple[str, dict[str, str]]] = []
    for value in values:
        pos = 0
        while True:
            pos = _skip_separators(value, pos)
            if pos >= len(value):
                break
            param = _PARAM.match(value, pos) if found else None
            if param:
                name, raw = param.group(1).lower(), param.group(2)
                found[-1][1].setdefault(name, _unquote(raw))
                pos = param.end()
            elif scheme := _SCHEME.match(value, pos):
                found.append((scheme.group(1).lower(), {}))
                pos = scheme.end()
                # RFC 9110 §11.4: a token68 (Basic/Negotiate credentials) follows the scheme
                # after spaces only; it carries nothing the agent reads.
                if token68 := _TOKEN68.match(value, pos):
                    pos = token68.end()
            else:
                break
    return found


def bearer_challenge(response: httpx.Response) -> BearerChallenge | None:
    """The ``Bearer`` challenge of a 401 or 403 response, or None if it sent none."""
    for scheme, params in parse_challenges(response.headers.get_list("www-authenticate")):
        if scheme == "bearer":
            return BearerChallenge(params)
    return None


def _skip_separators(value: str, pos: int) -> int:
    while pos < len(value) and value[pos] in " \t,":
        pos += 1
    return pos


def _unquote(raw: str) -> str:
    if raw.startswith('"'):
        return _ESCAPE.sub(r"\1", raw[1:-1])
    return raw
