"""URL rules the agent applies before it trusts or contacts a URL."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = [
    "is_loopback",
    "is_secure_endpoint",
    "origin_of",
    "resource_covers",
    "well_known",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback IP literal (RFC 8252 §7.3, RFC 6761 §6.3)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_secure_endpoint(url: object) -> bool:
    """An absolute https URL without fragment; plain http only on loopback (OAuth 2.1 §1.5)."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if parts.fragment or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))


def origin_of(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with case folded and default ports filled in (RFC 6454 §4)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def resource_covers(resource: str, url: str) -> bool:
    """Whether ``url`` is at or below the protected resource identifier ``resource``.

    Same origin, and the resource's path is a whole-segment prefix of the URL's path, a
    trailing slash either way being no difference (the MCP rule for the PRM ``resource``).
    RFC 8707 §2: a resource identifier has no fragment.
    """
    if urlsplit(resource).fragment or origin_of(resource) != origin_of(url):
        return False
    prefix = urlsplit(resource).path.rstrip("/")
    path = urlsplit(url).path.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def well_known(url: str, name: str, *, keep_path: bool) -> str:
    """``/.well-known/<name>`` on ``url``'s origin, inserted before its path if ``keep_path``.

    RFC 8414 §3.1, RFC 9728 §3.1: a terminating slash of the path is removed first.
    """
    parts = urlsplit(url)
    path = parts.path.rstrip("/") if keep_path else ""
    return f"{parts.scheme}://{parts.netloc}/.well-known/{name}{path}"
