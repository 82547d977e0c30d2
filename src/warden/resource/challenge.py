"""``WWW-Authenticate: Bearer`` challenges (RFC 6750 §3, RFC 9728 §5.1), written and read.

What a protected resource answers, and why each attribute is there:

- No token at all: 401 with ``resource_metadata`` (RFC 9728 §5.1, where clients discover the
  authorization server) and ``scope`` (what to ask for, MCP "Scope Selection"), but **no**
  ``error``: RFC 6750 §3.1 says a request without authentication information gets none.
- A token that fails validation: 401 ``error="invalid_token"``.
- A valid token lacking scope: 403 ``error="insufficient_scope"`` and ``scope`` listing every
  scope the operation needs, so the client can step up at once (RFC 6750 §3.1; MCP
  2026-07-28 step-up, SEP-2350; mcp-auth.md RS7, RS8).
- A malformed request: 400 ``error="invalid_request"``.

Attribute values are quoted strings (RFC 9110 §5.6.4 and §11.2), escaped here, and never carry
validation detail (SEC-84). :func:`parse_challenges` reads the header back, for clients and
tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["bearer_challenge", "parse_bearer_challenge", "parse_challenges"]

_ERRORS = frozenset({"invalid_request", "invalid_token", "insufficient_scope"})
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_PARAM = re.compile(
    r"""([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*"""
    r"""(?:([!#$%&'*+\-.^_`|~0-9A-Za-z]+)|"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[\t\x20-\x7e])*)")"""
)
_SPACE = re.compile(r"[ \t]*")
_SEPARATORS = re.compile(r"[ \t,]*")


def bearer_challenge(
    *,
    error: str | None = None,
    resource_metadata: str | None = None,
    scopes: Iterable[str] = (),
    realm: str | None = None,
) -> str:
    """The value of a ``WWW-Authenticate`` header for the ``Bearer`` scheme.

    :param error: an RFC 6750 §3.1 code, or None when the request carried no token.
    :param resource_metadata: the URL of this resource's RFC 9728 metadata document.
    :param scopes: written as one ``scope`` attribute, sorted (RFC 6750 §3).
    :raises ValueError: an unknown error code, or a value no header can carry.
    """
    if error is not None and error not in _ERRORS:
        raise ValueError(f"{error!r} is not an RFC 6750 error code")
    attributes = [
        ("realm", realm),
        ("error", error),
        ("resource_metadata", resource_metadata),
        ("scope", " ".join(sorted(set(scopes))) or None),
    ]
    params = ", ".join(f"{name}={_quoted(value)}" for name, value in attributes if value)
    return f"Bearer {params}" if params else "Bearer"


def _quoted(value: str) -> str:
    """An RFC 9110 §5.6.4 quoted-string; control characters could split the header."""
    if not _PRINTABLE.fullmatch(value):
        raise ValueError("challenge attributes must be printable ASCII")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def parse_challenges(header: str) -> list[tuple[str, dict[str, str]]]:
    """Every challenge in a ``WWW-Authenticate`` value (RFC 9110 §11.6.1), in order.

    Each is ``(scheme in lower case, {attribute name in lower case: value})``; a token68
    credential form is returned under the name ``""``.

    :raises ValueError: the value does not follow the grammar, or an attribute repeats
        (RFC 6750 §3: "MUST NOT appear more than once").
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    pos = _skip(_SEPARATORS, header, 0)
    while pos < len(header):
        scheme = _TOKEN.match(header, pos)
        if scheme is None:
            raise ValueError(f"malformed challenge at offset {pos}")
        params, pos = _read_params(header, _skip(_SPACE, header, scheme.end()))
        challenges.append((scheme.group().lower(), params))
        pos = _skip(_SEPARATORS, header, pos)
    return challenges


def _read_params(header: str, pos: int) -> tuple[dict[str, str], int]:
    """The auth-params (or token68) of one challenge, and where the next challenge starts."""
    params: dict[str, str] = {}
    while (param := _PARAM.match(header, pos)) is not None:
        name = param.group(1).lower()
        if name in params:
            raise ValueError(f"attribute {name!r} repeated")
        quoted = param.group(3)
        params[name] = param.group(2) if quoted is None else re.sub(r"\\(.)", r"\1", quoted)
        pos = _skip(_SPACE, header, param.end())
        if pos < len(header) and header[pos] != ",":
            raise ValueError(f"expected ',' at offset {pos}")
        pos = _skip(_SEPARATORS, header, pos)
    if not params and (token68 := _TOKEN68.match(header, pos)) is not None:
        end = token68.end()
        if end == len(header) or header[end] in " \t,":
            params[""] = token68.group()
            pos = end
    return params, pos


def _skip(pattern: re.Pattern[str], header: str, pos: int) -> int:
    """The offset after the (possibly empty) run of ``pattern`` at ``pos``."""
    match = pattern.match(header, pos)
    return pos if match is None else match.end()


def parse_bearer_challenge(header: str) -> dict[str, str] | None:
    """The attributes of the first ``Bearer`` challenge in ``header``, or None if there is none.

    :raises ValueError: the header is malformed (see :func:`parse_challenges`).
    """
    for scheme, params in parse_challenges(header):
        if scheme == "bearer":
            return params
    return None
