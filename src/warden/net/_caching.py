"""How long a fetched document may be reused, from its HTTP caching headers (RFC 9111).

Warden is the only reader of what it fetches, so it acts as a private cache: ``no-store`` and
``no-cache`` mean "do not reuse", ``max-age`` wins over ``Expires`` (§5.2.2.1, §5.3), and the
``Age`` a shared cache added on the way is subtracted (§4.2.3). Callers clamp the result to
their own bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["freshness_lifetime"]

# RFC 9111 §1.2.2: a delta-seconds value too large to represent is taken as 2^31.
_MAX_DELTA_SECONDS = 2**31


def freshness_lifetime(headers: httpx.Headers, *, now: float) -> int | None:
    """Seconds the response may still be reused, or ``None`` if its headers do not say.

    Follows RFC 9111 §4.2.1 (freshness lifetime) less §4.2.3 (current age). Anything
    contradictory or malformed counts as already stale (0), as §4.2.1 and §5.3 direct.

    :param now: the current time in seconds since the epoch, used when ``Date`` is absent.
    """
    directives = _cache_directives(headers)
    if "no-store" in directives or "no-cache" in directives:
        return 0
    max_ages = directives.get("max-age")
    if max_ages is not None:
        lifetime = _delta_seconds(max_ages[0]) if len(set(max_ages)) == 1 else None
    elif "expires" in headers:
        lifetime = _expires_lifetime(headers, now=now)
    else:
        return None
    if lifetime is None:
        return 0
    age = _delta_seconds(headers.get("age", "").split(",")[0]) or 0
    return max(0, lifetime - age)


def _cache_directives(headers: httpx.Headers) -> dict[str, list[str]]:
    """``Cache-Control`` directive names (lower case) with every value seen (§5.2)."""
    directives: dict[str, list[str]] = {}
    for line in headers.get_list("cache-control"):
        for item in line.split(","):
            name, _, value = item.partition("=")
            if name.strip():
                directives.setdefault(name.strip().lower(), []).append(value.strip().strip('"'))
    return directives


def _delta_seconds(value: str) -> int | None:
    """A delta-seconds value (§1.2.2), or ``None`` if it is not one."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return min(int(value), _MAX_DELTA_SECONDS)


def _expires_lifetime(headers: httpx.Headers, *, now: float) -> int | None:
    """``Expires`` minus ``Date`` (§4.2.1); ``None`` for a repeated or invalid ``Expires``."""
    expires_values = headers.get_list("expires")
    expires = _http_date(expires_values[0]) if len(expires_values) == 1 else None
    if expires is None:
        return None
    date = _http_date(headers.get("date", ""))
    origin = date.timestamp() if date is not None else now
    return int(expires.timestamp() - origin)


def _http_date(value: str) -> datetime | None:
    """An HTTP-date in any of its three formats, all of which are UTC (RFC 9110 §5.6.7)."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
