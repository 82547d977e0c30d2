"""OAuth 2.0 Protected Resource Metadata (RFC 9728), https://www.rfc-editor.org/rfc/rfc9728

The document tells a client which authorization servers issue tokens for this resource and
which scopes to ask for. MCP clients find it from the ``resource_metadata`` attribute of a 401
challenge, or by probing ``/.well-known/oauth-protected-resource`` with the resource's path
inserted, then without it (RFC 9728 §3.1; MCP 2025-11-25 discovery, mcp-auth.md RS1, RS2).

``resource`` and every ``authorization_servers`` entry are kept exactly as the server author
wrote them: clients compare them byte for byte with what they used to find the document and
with the authorization server's own ``issuer`` (RFC 9728 §3.3, RFC 8414 §3.3, P1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from warden.resource._asgi import CORS_HEADERS, Receive, Scope, Send, route_path, send_json
from warden.resource._urls import check_issuer, check_resource, well_known_url
from warden.resource.scopes import check_scopes

__all__ = ["WELL_KNOWN_PATH", "ProtectedResourceMetadata", "ProtectedResourceMetadataApp"]

WELL_KNOWN_PATH = "/.well-known/oauth-protected-resource"

_MEMBERS = frozenset(
    {
        "resource",
        "authorization_servers",
        "scopes_supported",
        "bearer_methods_supported",
        "resource_name",
        "resource_documentation",
        "resource_policy_uri",
        "resource_tos_uri",
    }
)
_OPTIONAL = ("resource_name", "resource_documentation", "resource_policy_uri", "resource_tos_uri")


@dataclass(frozen=True, slots=True)
class ProtectedResourceMetadata:
    """The RFC 9728 §2 document of one protected resource.

    :param resource: this resource's identifier, e.g. ``https://rs.example/mcp``; it is also
        the audience tokens must carry (RFC 8707).
    :param authorization_servers: issuer identifiers, exactly as their metadata spells them.
    :param scopes_supported: the scopes a client should request to use the resource — the
        minimal useful set, with more by step-up (MCP RS11); never ``offline_access`` (RS10).
    :param extra: further RFC 9728 members, e.g. ``{"resource_signing_alg_values_supported":
        [...]}``; they cannot replace the members above.
    """

    resource: str
    authorization_servers: Sequence[str]
    scopes_supported: Sequence[str] = ()
    resource_name: str | None = None
    resource_documentation: str | None = None
    resource_policy_uri: str | None = None
    resource_tos_uri: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_resource(self.resource)
        servers = (
            (self.authorization_servers,)
            if isinstance(self.authorization_servers, str)
            else tuple(self.authorization_servers)
        )
        if not servers:
            raise ValueError("authorization_servers needs at least one issuer (MCP RS1)")
        for issuer in servers:
            check_issuer(issuer, "authorization_servers entry")
        for name in _OPTIONAL[1:]:
            if (value := getattr(self, name)) is not None:
                check_resource(value, name)
        if clash := _MEMBERS & self.extra.keys():
            raise ValueError(f"extra may not set {sorted(clash)}")
        object.__setattr__(self, "authorization_servers", servers)
        object.__setattr__(
            self, "scopes_supported", check_scopes(self.scopes_supported, what="scopes_supported")
        )
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def url(self) -> str:
        """Where clients fetch this document: the path-inserted well-known URL (RFC 9728 §3.1).

        This is the ``resource_metadata`` value of every challenge.
        """
        return well_known_url(self.resource, WELL_KNOWN_PATH.removeprefix("/.well-known/"))

    @property
    def paths(self) -> tuple[str, ...]:
        """The request paths that serve the document: path-inserted first, then the root form."""
        inserted = urlsplit(self.url).path
        return (inserted,) if inserted == WELL_KNOWN_PATH else (inserted, WELL_KNOWN_PATH)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (RFC 9728 §2); optional members only when set."""
        document: dict[str, Any] = {
            **self.extra,
            "resource": self.resource,
            "authorization_servers": list(self.authorization_servers),
            # SEC-84: tokens are read from the Authorization header only.
            "bearer_methods_supported": ["header"],
        }
        if self.scopes_supported:
            document["scopes_supported"] = list(self.scopes_supported)
        for name in _OPTIONAL:
            if (value := getattr(self, name)) is not None:
                document[name] = value
        return document


class ProtectedResourceMetadataApp:
    """An ASGI app serving the document at :attr:`ProtectedResourceMetadata.paths`, with CORS.

    Open to every origin (``Access-Control-Allow-Origin: *``, no credentials): browser-based
    MCP clients fetch it cross-origin (mcp-auth.md P7). Any other path is a 404, which carries
    CORS too so a probing browser client can tell "absent" from "blocked".
    """

    def __init__(self, metadata: ProtectedResourceMetadata) -> None:
        self.metadata = metadata
        self._body = metadata.to_dict()
        self._paths = frozenset(metadata.paths)

    def serves(self, scope: Scope) -> bool:
        """True if ``scope`` is an HTTP request for the document."""
        return scope["type"] == "http" and route_path(scope) in self._paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise RuntimeError("ProtectedResourceMetadataApp serves HTTP only")
        cors = (("access-control-allow-origin", "*"),)
        if route_path(scope) not in self._paths:
            await send_json(send, 404, {"error": "not_found"}, cors)
        elif scope["method"] == "OPTIONS":
            preflight = (
                ("access-control-allow-methods", "GET, HEAD, OPTIONS"),
                ("access-control-allow-headers", "*"),
                ("access-control-max-age", "86400"),
            )
            await send_json(send, 204, None, (*cors, *preflight))
        elif scope["method"] in ("GET", "HEAD"):
            await send_json(send, 200, self._body, CORS_HEADERS, cache="public, max-age=3600")
        else:
            await send_json(
                send, 405, {"error": "method_not_allowed"}, (*cors, ("allow", "GET, HEAD, OPTIONS"))
            )
