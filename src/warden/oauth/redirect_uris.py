"""Redirect URIs: what may be registered, and how a request is matched against them.

Registration (RFC 7591 §2, OAuth 2.1 §2.3.1, RFC 8252 §7, SEC-42) accepts three kinds:

- ``https`` URIs;
- ``http`` URIs on a loopback host: ``127.0.0.1``, ``[::1]`` or ``localhost``
  (RFC 8252 §7.3; RFC 8252 prefers the IP literals, but the MCP SDKs register ``localhost``);
- for ``application_type=native`` only, private-use schemes containing a ``.``
  (reverse domain names, RFC 8252 §7.1), such as ``com.example.app:/callback``.

``web`` clients may still register loopback ``http`` URIs: the MCP TypeScript SDK sends no
``application_type`` (so ``web``) with an ``http://localhost`` redirect.

Everything is allow-listed, never block-listed: a URI must consist of RFC 3986 characters
only, which rules out whitespace, control characters and the backslash that browsers read as
``/`` — the variants that defeat ``startswith("javascript:")`` style checks.

Matching (OAuth 2.1 §4.1.1, §8.4.2; SEC-4, SEC-5, SEC-6) is simple string comparison, with
one exception: for a registered loopback ``http`` URI only the port may differ.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

from warden.errors import InvalidRedirectUriError, InvalidRequestError

__all__ = [
    "LOOPBACK_HOSTS",
    "MAX_REDIRECT_URI_LENGTH",
    "RedirectUriMismatch",
    "is_loopback_redirect",
    "match_redirect_uri",
    "validate_redirect_uri",
]

MAX_REDIRECT_URI_LENGTH = 2000

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "localhost"})
"""Hosts whose ``http`` redirect URIs are allowed and whose port may vary (RFC 8252 §7.3)."""

# RFC 3986 §2: unreserved, reserved and percent-encoded octets; nothing else.
_URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*", re.IGNORECASE)
# host (a bracketed IPv6 literal or a name) and an optional non-empty port.
_AUTHORITY = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::([0-9]{1,5}))?")
# Schemes that run code or read local files in a browser. None contains a "." so the
# allow-list already refuses them; naming them gives a clear error and guards refactors.
_DANGEROUS_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "blob", "about"})
# A registered loopback URI split into scheme+host, port and the rest (path and query).
_LOOPBACK = re.compile(
    r"(http://(?:127\.0\.0\.1|\[::1\]|localhost))(?::([1-9][0-9]{0,4}))?([/?].*)?"
)


class RedirectUriMismatch(Exception):
    """The authorization request's ``redirect_uri`` does not match a registered one.

    The redirect URI cannot be trusted, so the authorization endpoint must show an error page
    and never redirect (OAuth 2.1 §4.1.2.1, SEC-7). This deliberately is *not* an
    :class:`~warden.errors.OAuthError`: the registry has exactly one class per error code, and
    every ``invalid_request`` may otherwise be redirected. :meth:`as_oauth_error` gives the
    ``invalid_request`` to render on the page.
    """

    error = "invalid_request"
    redirectable = False

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def as_oauth_error(self) -> InvalidRequestError:
        return InvalidRequestError(self.description)


def validate_redirect_uri(uri: str, *, application_type: str) -> str:
    """Check one ``redirect_uris`` entry at registration; return it unchanged.

    :raises InvalidRedirectUriError: the URI is not acceptable (RFC 7591 §3.2.2).
    """
    if not isinstance(uri, str) or not uri:
        raise InvalidRedirectUriError("A redirect URI must be a non-empty string")
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise InvalidRedirectUriError("Redirect URI is too long")
    if not _URI_CHARS.fullmatch(uri):
        raise InvalidRedirectUriError("Redirect URI contains characters not allowed in a URI")
    if "#" in uri:
        raise InvalidRedirectUriError("Redirect URI must not contain a fragment")
    if "*" in uri:
        raise InvalidRedirectUriError("Redirect URI must not contain wildcards")
    scheme = uri.split(":", 1)[0] if ":" in uri else ""
    if not _SCHEME.fullmatch(scheme):
        raise InvalidRedirectUriError("Redirect URI must be absolute with a lower-case scheme")
    if scheme in _DANGEROUS_SCHEMES:
        raise InvalidRedirectUriError(f"Redirect URI scheme {scheme} is not allowed")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. a bracketed host that is not an IPv6 address
        raise InvalidRedirectUriError("Redirect URI has an invalid host") from exc
    if "@" in parts.netloc:
        raise InvalidRedirectUriError("Redirect URI must not contain user information")
    _check_dot_segments(parts.path)
    if scheme in ("https", "http"):
        _check_web_authority(scheme, parts.netloc)
    elif "." in scheme and application_type == "native":
        _check_private_use(uri, scheme)
    elif "." in scheme:
        raise InvalidRedirectUriError("Private-use URI schemes need application_type native")
    else:
        raise InvalidRedirectUriError("Redirect URI must use https (or http on loopback)")
    return uri


def _check_web_authority(scheme: str, netloc: str) -> None:
    """An https host is a DNS name or an IP literal; http only on a loopback host (SEC-113)."""
    authority = _AUTHORITY.fullmatch(netloc)
    if authority is None:
        raise InvalidRedirectUriError("Redirect URI has an invalid host or port")
    host, port = authority.group(1), authority.group(2)
    if port is not None and not 0 < int(port) <= 65535:
        raise InvalidRedirectUriError("Redirect URI has an invalid port")
    if not (_DNS_NAME.fullmatch(host) or _is_ipv6_literal(host)):
        raise InvalidRedirectUriError("Redirect URI has an invalid host")
    if scheme == "http" and host.lower() not in LOOPBACK_HOSTS:
        raise InvalidRedirectUriError("http redirect URIs are allowed only on a loopback host")


def _is_ipv6_literal(host: str) -> bool:
    if not (host.startswith("[") and host.endswith("]")):
        return False
    try:
        ipaddress.IPv6Address(host[1:-1])
    except ValueError:
        return False
    return True


def _check_private_use(uri: str, scheme: str) -> None:
    """RFC 8252 §7.1: ``reverse.domain:/path``; something must follow the scheme."""
    rest = uri[len(scheme) + 1 :]
    if not rest.strip("/"):
        raise InvalidRedirectUriError("Redirect URI with a private-use scheme needs a path")


def _check_dot_segments(path: str) -> None:
    """Browsers resolve ``.``/``..`` (also percent-encoded) before following a redirect."""
    for segment in path.split("/"):
        if unquote(segment) in (".", ".."):
            raise InvalidRedirectUriError("Redirect URI must not contain dot segments")


def is_loopback_redirect(uri: str) -> bool:
    """True for an ``http`` redirect URI on a loopback host (consent warns about these)."""
    return _LOOPBACK.fullmatch(uri) is not None


def match_redirect_uri(registered: Sequence[str], requested: str | None) -> str:
    """The redirect URI to use for an authorization request.

    - Simple string comparison against the registered values (OAuth 2.1 §4.1.1, SEC-4).
    - A registered loopback ``http`` URI also matches the same URI with any port; scheme,
      host, path and query stay exact (RFC 8252 §7.3, OAuth 2.1 §8.4.2, SEC-5).
    - ``redirect_uri`` may be omitted only if exactly one is registered (OAuth 2.1 §2.3.2,
      SEC-6).

    :raises RedirectUriMismatch: show an error page; never redirect.
    """
    if requested is None:
        if len(registered) == 1:
            return registered[0]
        raise RedirectUriMismatch("Missing parameter: redirect_uri")
    if requested in registered:
        return requested
    if any(_same_loopback_but_port(r, requested) for r in registered):
        return requested
    raise RedirectUriMismatch("The redirect_uri does not match a registered redirect URI")


def _same_loopback_but_port(registered: str, requested: str) -> bool:
    """RFC 8252 §7.3: both loopback ``http``, equal but for the port."""
    if not _URI_CHARS.fullmatch(requested) or "#" in requested:
        return False
    have, want = _LOOPBACK.fullmatch(registered), _LOOPBACK.fullmatch(requested)
    if have is None or want is None or int(want.group(2) or 80) > 65535:
        return False
    return (have.group(1), have.group(3)) == (want.group(1), want.group(3))
