"""Resource indicators (RFC 8707): which resources a token may be for.

By default (``resource_policy = "any"``) any absolute https URI, or http on a loopback host
in development, is accepted and becomes the token's audience. With ``"registered"`` only
resources added by an operator are accepted; others get ``invalid_target`` (SEC-15).
Matching normalises scheme and host case and one trailing slash, then answers with the
registered form, so ``aud`` is always the exact string the resource server expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from warden.errors import InvalidTargetError
from warden.oauth.ports import ResourceStore
from warden.settings import Settings, is_loopback_host

__all__ = ["canonical_resource", "resolve_resources"]

MAX_RESOURCES = 1
"""One audience per token (SEC-36): several ``resource`` values are ``invalid_target``."""


def canonical_resource(uri: str, *, allow_loopback_http: bool) -> str:
    """Check a ``resource`` value (RFC 8707 §2) and lower-case its scheme and host."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise InvalidTargetError("Invalid resource") from exc
    if not parts.scheme or not parts.hostname or parts.fragment or "#" in uri:
        raise InvalidTargetError("The resource must be an absolute URI without a fragment")
    if parts.username or parts.password:
        raise InvalidTargetError("Invalid resource")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (
        scheme == "http" and allow_loopback_http and is_loopback_host(parts.hostname)
    ):
        raise InvalidTargetError("The resource must be an https URI")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def _same(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


async def resolve_resources(
    requested: Sequence[str], *, settings: Settings, store: ResourceStore
) -> tuple[str, ...]:
    """Validate the requested resources and return the audience values to mint.

    RFC 8707 §2: the server may refuse more than one resource; Warden issues one audience
    per token (SEC-36), so two or more is ``invalid_target``. ``settings.resource_policy``
    says whether only registered resources are accepted; loopback http only in development.
    """
    if len(requested) > MAX_RESOURCES:
        raise InvalidTargetError("Request one resource at a time")
    out = []
    for uri in requested:
        canonical = canonical_resource(uri, allow_loopback_http=settings.is_development)
        if settings.resource_policy == "registered":
            known = [r.uri for r in await store.list()]
            match = next((k for k in known if _same(k.lower(), canonical.lower())), None)
            if match is None:
                raise InvalidTargetError("Unknown resource")
            canonical = match
        out.append(canonical)
    return tuple(out)
