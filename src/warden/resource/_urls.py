"""Checks for the URLs a server author configures, which are kept exactly as written.

Issuers and resource identifiers are compared as strings by clients and authorization servers
(RFC 8414 §3.3, RFC 9728 §3.3, RFC 8707 §2), so nothing here normalises them: no URL type
that adds or drops a trailing slash ever touches them (mcp-auth.md P1).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

__all__ = ["check_issuer", "check_resource", "is_loopback_http", "well_known_url"]


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_http(url: str) -> bool:
    """True for ``http://`` on a loopback host, which is allowed for local development."""
    parts = urlsplit(url)
    return parts.scheme == "http" and _loopback(parts.hostname)


def _check_absolute(url: object, what: str) -> SplitResult:
    if not isinstance(url, str) or not url or url != url.strip():
        raise ValueError(f"{what} must be a URL string without surrounding space")
    parts = urlsplit(url)
    if parts.scheme != "https" and not is_loopback_http(url):
        raise ValueError(f"{what} must be https (http only on loopback): {url!r}")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ValueError(f"{what} needs a host and no user information: {url!r}")
    if parts.fragment or "#" in url:
        raise ValueError(f"{what} must not have a fragment: {url!r}")
    return parts


def check_resource(url: object, what: str = "resource") -> str:
    """A resource identifier: an absolute https URL without fragment (RFC 9728 §1.2)."""
    _check_absolute(url, what)
    return str(url)


def check_issuer(url: object, what: str = "issuer") -> str:
    """An issuer identifier: https, no query, no fragment (RFC 8414 §2)."""
    parts = _check_absolute(url, what)
    if parts.query or "?" in str(url):
        raise ValueError(f"{what} must not have a query: {url!r}")
    return str(url)


def well_known_url(url: str, suffix: str) -> str:
    """Insert ``/.well-known/<suffix>`` between host and path (RFC 8414 §3.1, RFC 9728 §3.1).

    A lone ``/`` path is dropped first, so ``https://rs.example/`` and ``https://rs.example``
    both give ``https://rs.example/.well-known/<suffix>``.
    """
    parts = urlsplit(url)
    path = "" if parts.path == "/" else parts.path
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}/.well-known/{suffix}{path}{query}"
