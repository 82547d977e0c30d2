"""From a 401 to the authorization server: RFC 9728 then RFC 8414 / OIDC Discovery.

- Protected Resource Metadata (RFC 9728, https://www.rfc-editor.org/rfc/rfc9728): at the
  ``resource_metadata`` URL of the 401 challenge (§5.1), else at the path-inserted then the
  root well-known URI (§3.1; MCP 2025-11-25 client rule C1). The document's ``resource`` must
  be at or above the requested URL on the same origin, so a server cannot name itself a
  resource it is not.
- Authorization Server Metadata (RFC 8414, https://www.rfc-editor.org/rfc/rfc8414) of the
  first listed authorization server, probed in the MCP order (C2): RFC 8414 path insertion,
  then OIDC Discovery with path insertion, then OIDC Discovery appended to the issuer path.
  A 3xx or 4xx moves on to the next URL, a 5xx stops. ``issuer`` must equal the string the
  URL was built from, byte for byte (RFC 8414 §3.3; a trailing slash is a different issuer),
  and ``code_challenge_methods_supported`` must list ``S256`` (C4).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from warden.agent import _http
from warden.agent._urls import is_secure_endpoint, resource_covers, well_known
from warden.agent.errors import DiscoveryError
from warden.agent.pkce import S256

__all__ = [
    "Discovery",
    "ResourceMetadata",
    "ServerMetadata",
    "discover",
    "fetch_resource_metadata",
    "fetch_server_metadata",
    "resource_metadata_urls",
    "server_metadata_urls",
]

PRM_WELL_KNOWN = "oauth-protected-resource"
OAUTH_WELL_KNOWN = "oauth-authorization-server"
OIDC_WELL_KNOWN = "openid-configuration"
_ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "device_authorization_endpoint",
    "revocation_endpoint",
)


@dataclass(frozen=True, slots=True)
class ResourceMetadata:
    """RFC 9728 §2: the fields the agent uses."""

    resource: str
    authorization_servers: tuple[str, ...]
    scopes_supported: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ServerMetadata:
    """RFC 8414 §2: the fields the agent uses; ``raw`` keeps the whole document."""

    issuer: str
    token_endpoint: str
    authorization_endpoint: str | None = None
    registration_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    revocation_endpoint: str | None = None
    scopes_supported: tuple[str, ...] | None = None
    code_challenge_methods_supported: tuple[str, ...] = ()
    iss_parameter_supported: bool = False
    """RFC 9207 §3: ``authorization_response_iss_parameter_supported``."""
    client_id_metadata_document_supported: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Discovery:
    """What discovery found for one protected resource."""

    resource: ResourceMetadata
    server: ServerMetadata


async def discover(
    http: httpx.AsyncClient,
    url: str,
    *,
    resource_metadata: str | None = None,
    trusted_issuers: Collection[str] | None = None,
) -> Discovery:
    """Discover the resource and authorization server behind a 401 from ``url``.

    :param resource_metadata: the ``resource_metadata`` of the 401 challenge, if any.
    :param trusted_issuers: if given, the only authorization servers the agent will use.
    :raises DiscoveryError: no usable metadata, or the checks above fail.
    """
    resource = await fetch_resource_metadata(http, url, resource_metadata)
    issuer = resource.authorization_servers[0]
    if trusted_issuers is not None and issuer not in trusted_issuers:
        raise DiscoveryError(f"The authorization server {issuer} is not a trusted issuer")
    return Discovery(resource, await fetch_server_metadata(http, issuer))


def resource_metadata_urls(url: str, advertised: str | None = None) -> list[str]:
    """Where to look for the PRM of ``url``: the advertised URL only, else the well-knowns."""
    if advertised is not None:
        return [advertised]
    urls = [well_known(url, PRM_WELL_KNOWN, keep_path=True)]
    root = well_known(url, PRM_WELL_KNOWN, keep_path=False)
    return urls if root in urls else [*urls, root]


def server_metadata_urls(issuer: str) -> list[str]:
    """The MCP probe order (C2) for an issuer with or without a path."""
    urls = [
        well_known(issuer, OAUTH_WELL_KNOWN, keep_path=True),
        well_known(issuer, OIDC_WELL_KNOWN, keep_path=True),
    ]
    if urlsplit(issuer).path.strip("/"):
        urls.append(f"{issuer.rstrip('/')}/.well-known/{OIDC_WELL_KNOWN}")
    return urls


async def fetch_resource_metadata(
    http: httpx.AsyncClient, url: str, advertised: str | None = None
) -> ResourceMetadata:
    """The RFC 9728 document for ``url``, checked (see the module docstring)."""
    if advertised is not None and urlsplit(advertised).scheme not in ("https", "http"):
        raise DiscoveryError("The resource_metadata URL is not an http(s) URL")
    body = await _first_document(http, resource_metadata_urls(url, advertised), "resource")
    return _parse_resource_metadata(body, url)


async def fetch_server_metadata(http: httpx.AsyncClient, issuer: str) -> ServerMetadata:
    """The RFC 8414 document of ``issuer``, checked (see the module docstring)."""
    if not is_secure_endpoint(issuer) or urlsplit(issuer).query:
        raise DiscoveryError(f"The authorization server {issuer!r} is not an https URL")
    body = await _first_document(http, server_metadata_urls(issuer), "authorization server")
    return _parse_server_metadata(body, issuer)


async def _first_document(http: httpx.AsyncClient, urls: list[str], what: str) -> Mapping[str, Any]:
    for url in urls:
        reply = await _http.get(http, url)
        if reply.status_code >= 500:
            raise DiscoveryError(f"The {what} metadata at {url} failed ({reply.status_code})")
        if reply.status_code != 200:
            continue
        if reply.body is None:
            raise DiscoveryError(f"The {what} metadata at {url} is not a JSON object")
        return reply.body
    raise DiscoveryError(f"No {what} metadata found (tried {', '.join(urls)})")


def _parse_resource_metadata(body: Mapping[str, Any], url: str) -> ResourceMetadata:
    resource, servers = body.get("resource"), body.get("authorization_servers")
    if not isinstance(resource, str) or not resource:
        raise DiscoveryError("The resource metadata has no resource")
    if not resource_covers(resource, url):
        raise DiscoveryError(f"The resource metadata names {resource}, which does not cover {url}")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        raise DiscoveryError("The resource metadata lists no authorization_servers")
    return ResourceMetadata(
        resource=resource,
        authorization_servers=tuple(servers),
        scopes_supported=_strings(body, "scopes_supported"),
    )


def _parse_server_metadata(body: Mapping[str, Any], issuer: str) -> ServerMetadata:
    if body.get("issuer") != issuer:
        raise DiscoveryError(
            f"The authorization server metadata names issuer {body.get('issuer')!r}, not {issuer!r}"
        )
    endpoints: dict[str, str] = {}
    for name in _ENDPOINTS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not is_secure_endpoint(value):
            raise DiscoveryError(f"The {name} is not an https URL")
        endpoints[name] = value
    if "token_endpoint" not in endpoints:
        raise DiscoveryError("The authorization server metadata has no token_endpoint")
    methods = _strings(body, "code_challenge_methods_supported") or ()
    if S256 not in methods:
        raise DiscoveryError("The authorization server does not support PKCE with S256")
    return ServerMetadata(
        issuer=issuer,
        **endpoints,
        scopes_supported=_strings(body, "scopes_supported"),
        code_challenge_methods_supported=methods,
        iss_parameter_supported=body.get("authorization_response_iss_parameter_supported") is True,
        client_id_metadata_document_supported=(
            body.get("client_id_metadata_document_supported") is True
        ),
        raw=dict(body),
    )


def _strings(body: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = body.get(name)
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))
