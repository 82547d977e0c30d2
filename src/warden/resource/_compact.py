"""The JWS Compact Serialization (RFC 7515 §7.1), read strictly, before any cryptography.

Only three base64url segments of ``[A-Za-z0-9_-]`` under a size cap are accepted: no JWE, no
JSON serialisation, no padding, no whitespace (RFC 8725bis §2.13; SEC-83). The header and
payload must be UTF-8 JSON objects with no duplicate members and no ``NaN``/``Infinity``: a
parser that keeps the last duplicate ``aud`` while another keeps the first is how two
components come to disagree on what a token says (RFC 8725 §2.6, RFC 7515 §4).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from warden.resource.errors import InvalidTokenError

__all__ = ["MAX_TOKEN_BYTES", "CompactJws", "parse_compact", "strict_json_object"]

MAX_TOKEN_BYTES: Final = 8192
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True, slots=True)
class CompactJws:
    """A syntactically valid compact JWS; its signature is not checked yet."""

    header: dict[str, Any]
    payload: dict[str, Any]


def parse_compact(token: str) -> CompactJws:
    """Split and decode ``token``.

    :raises InvalidTokenError: anything but a small, clean compact JWS with JSON object parts.
    """
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidTokenError("token over the size cap")
    match = _COMPACT.fullmatch(token)
    if match is None:
        raise InvalidTokenError("not a compact JWS")
    header = strict_json_object(_b64decode(match.group(1)))
    payload = strict_json_object(_b64decode(match.group(2)))
    if header is None or payload is None:
        raise InvalidTokenError("header or payload is not a strict JSON object")
    return CompactJws(header=header, payload=payload)


def _b64decode(segment: str) -> bytes:
    if len(segment) % 4 == 1:
        raise InvalidTokenError("impossible base64url length")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidTokenError("invalid base64url") from exc


def strict_json_object(raw: bytes) -> dict[str, Any] | None:
    """A UTF-8 JSON object without duplicate members or non-finite numbers, or None."""
    try:
        value = json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ValueError("duplicate member")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
