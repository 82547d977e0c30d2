"""The shape a URL must have before Warden will fetch it (checked before any network access).

Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document §3) require an
``https`` URL with a path, no fragment, no userinfo and no dot segments; Warden adds a length
cap and, as policy, a DNS name rather than an IP literal. The same check guards ``jwks_uri``
and Web Bot Auth key directories. The URL is read with two parsers (``urllib.parse`` and
httpx, which makes the request) and refused if they disagree on where it points, so a parser
differential cannot smuggle a second host past the check.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote, urlsplit

import httpx

from warden.net._addresses import parse_address

__all__ = ["MAX_URL_LENGTH", "UnsafeURLError", "check_url_shape"]

MAX_URL_LENGTH = 2048

_VISIBLE_ASCII = re.compile(r"[!-~]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class UnsafeURLError(ValueError):
    """The URL is not one Warden will fetch; the message says why and is safe to show."""


def check_url_shape(
    url: str,
    *,
    require_path: bool = True,
    allow_query: bool = False,
    allow_loopback: bool = False,
) -> None:
    """Refuse a URL whose shape Warden will not fetch; no network access happens here.

    :param require_path: refuse an empty or ``/`` path (CIMD §3: the client_id has a path).
    :param allow_query: accept a query component (CIMD §3 allows one; Warden's CIMD policy
        does not).
    :param allow_loopback: development only; also accept ``http`` and loopback IP literals.
    :raises UnsafeURLError: naming the first rule the URL breaks.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if not _VISIBLE_ASCII.fullmatch(url) or "\\" in url:
        raise UnsafeURLError("the URL must be printable ASCII without spaces or backslashes")
    parts = _split(url)
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeURLError("the URL must use https")
    if "#" in url:
        raise UnsafeURLError("the URL must not have a fragment")
    if "@" in parts.netloc:
        raise UnsafeURLError("the URL must not have a username or password")
    if "?" in url and not allow_query:
        raise UnsafeURLError("the URL must not have a query")
    _check_host(parts, allow_loopback=allow_loopback)
    _check_path(parts.path, require_path=require_path)
    _check_parsers_agree(url, parts)


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not 0-65535
    except ValueError:
        raise UnsafeURLError("the URL cannot be parsed") from None
    return parts


def _check_host(parts: SplitResult, *, allow_loopback: bool) -> None:
    host = parts.hostname or ""
    if parts.port == 0:
        raise UnsafeURLError("the URL must not use port 0")
    try:
        address = parse_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not (allow_loopback and address.is_loopback):
            raise UnsafeURLError("the URL host must be a DNS name, not an IP address")
        return
    if allow_loopback and host == "localhost":
        return
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise UnsafeURLError("the URL host must be a DNS name")


def _check_path(path: str, *, require_path: bool) -> None:
    if require_path and path in ("", "/"):
        raise UnsafeURLError("the URL must have a path")
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise UnsafeURLError("the URL path must not have . or .. segments")


def _check_parsers_agree(url: str, parts: SplitResult) -> None:
    try:
        seen = httpx.URL(url)
    except httpx.InvalidURL:
        raise UnsafeURLError("the URL cannot be parsed") from None
    default_port = _DEFAULT_PORTS[parts.scheme]
    same_host = seen.raw_host.decode("ascii") == parts.hostname
    same_port = (seen.port or default_port) == (parts.port or default_port)
    if not (same_host and same_port):
        raise UnsafeURLError("the URL cannot be parsed unambiguously")
