"""Who the agent is to an authorization server: its client credentials.

The MCP order (2025-11-25 client rule C3): credentials pre-registered for this issuer; else a
Client ID Metadata Document URL as the ``client_id``, if the server advertises
``client_id_metadata_document_supported``; else Dynamic Client Registration (RFC 7591,
https://www.rfc-editor.org/rfc/rfc7591) at ``registration_endpoint``. Credentials belong to
one issuer (C11): they are stored under it and never sent to another server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from warden.agent import _http
from warden.agent.discovery import ServerMetadata
from warden.agent.errors import RegistrationError

__all__ = [
    "AgentProfile",
    "ClientCredentials",
    "build_registration_request",
    "register_dynamically",
    "resolve_client",
]

AuthMethod = Literal["none", "client_secret_basic", "client_secret_post"]
_AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
_SECRET_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """A ``client_id`` at one authorization server, with its secret if it has one."""

    client_id: str
    client_secret: str | None = None
    token_endpoint_auth_method: AuthMethod = "none"
    origin: Literal["preregistered", "cimd", "dynamic"] = "preregistered"
    redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ()
    """What the client registered, so an agent whose redirect URI or flow changed registers
    again instead of being refused."""

    def covers(self, redirect_uris: tuple[str, ...], grant_types: tuple[str, ...]) -> bool:
        """Whether these credentials were registered for these redirect URIs and grants."""
        return set(redirect_uris) <= set(self.redirect_uris) and set(grant_types) <= set(
            self.grant_types
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "origin": self.origin,
            "redirect_uris": list(self.redirect_uris),
            "grant_types": list(self.grant_types),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientCredentials:
        return cls(
            client_id=data["client_id"],
            client_secret=data.get("client_secret"),
            token_endpoint_auth_method=data.get("token_endpoint_auth_method", "none"),
            origin=data.get("origin", "dynamic"),
            redirect_uris=tuple(data.get("redirect_uris", ())),
            grant_types=tuple(data.get("grant_types", ())),
        )


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """How the agent presents itself when it has to register.

    :param client_name: shown to the person on the consent page.
    :param client_id_metadata_document: the https URL where the agent publishes its Client ID
        Metadata Document; used as ``client_id`` where the server supports it.
    :param preregistered: credentials an administrator issued, keyed by the exact issuer.
    :param client_kind: Warden's registration extension (``agent``); None omits it.
    :param metadata: further RFC 7591 §2 fields (``client_uri``, ``software_id``, ...).
    """

    client_name: str = "Warden agent"
    client_id_metadata_document: str | None = None
    preregistered: Mapping[str, ClientCredentials] = field(default_factory=dict)
    application_type: Literal["native", "web"] = "native"
    client_kind: str | None = "agent"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        url = self.client_id_metadata_document
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValueError("client_id_metadata_document must be an https URL")
            if parts.path in ("", "/") or parts.fragment:
                raise ValueError("client_id_metadata_document needs a path and no fragment")


def build_registration_request(
    profile: AgentProfile,
    *,
    redirect_uris: tuple[str, ...],
    grant_types: tuple[str, ...],
    auth_method: AuthMethod,
) -> dict[str, Any]:
    """The RFC 7591 §2 metadata to register (MCP 2026-07-28: ``application_type`` is required).

    No ``scope``: a registered scope would cap what the client may ever ask for, and step-up
    needs scopes nobody knew at registration.
    """
    body: dict[str, Any] = {
        **profile.metadata,
        "client_name": profile.client_name,
        "application_type": profile.application_type,
        "grant_types": list(grant_types),
        "response_types": ["code"] if "authorization_code" in grant_types else [],
        "token_endpoint_auth_method": auth_method,
    }
    if redirect_uris:
        body["redirect_uris"] = list(redirect_uris)
    if profile.client_kind is not None:
        body["client_kind"] = profile.client_kind
    return body


def resolve_client(
    profile: AgentProfile,
    server: ServerMetadata,
    stored: ClientCredentials | None,
    *,
    redirect_uris: tuple[str, ...],
    grant_types: tuple[str, ...],
) -> ClientCredentials | None:
    """The credentials to use without registering, or None if the agent must register (C3)."""
    preregistered = profile.preregistered.get(server.issuer)
    if preregistered is not None:
        return preregistered
    document = profile.client_id_metadata_document
    if document is not None and server.client_id_metadata_document_supported:
        return ClientCredentials(
            client_id=document,
            origin="cimd",
            redirect_uris=redirect_uris,
            grant_types=grant_types,
        )
    if stored is not None and stored.covers(redirect_uris, grant_types):
        return stored
    return None


async def register_dynamically(
    http: httpx.AsyncClient, server: ServerMetadata, request: Mapping[str, Any]
) -> ClientCredentials:
    """Register at ``server`` (RFC 7591 §3.1) and check the client information (§3.2.1).

    :raises RegistrationError: the server has no registration endpoint, refused, or assigned
        a client authentication method the agent cannot use.
    """
    if server.registration_endpoint is None:
        raise RegistrationError(
            f"{server.issuer} has no credentials for this agent, no Client ID Metadata "
            "Document support it can use, and no registration endpoint"
        )
    reply = await _http.post_json(http, server.registration_endpoint, request)
    if reply.status_code not in (200, 201) or reply.body is None:
        error, description = reply.error()
        raise RegistrationError(
            f"Registration refused ({reply.status_code})", error=error, description=description
        )
    return _client_information(reply.body, request)


def _client_information(body: Mapping[str, Any], request: Mapping[str, Any]) -> ClientCredentials:
    client_id, secret = body.get("client_id"), body.get("client_secret")
    method = body.get("token_endpoint_auth_method", request["token_endpoint_auth_method"])
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("The registration response has no client_id")
    if method not in _AUTH_METHODS:
        raise RegistrationError(f"The server assigned an unsupported auth method {method!r}")
    if method in _SECRET_METHODS and not isinstance(secret, str):
        raise RegistrationError(f"The server assigned {method} but no client_secret")
    return ClientCredentials(
        client_id=client_id,
        client_secret=secret if isinstance(secret, str) else None,
        token_endpoint_auth_method=method,
        origin="dynamic",
        redirect_uris=_registered(body, request, "redirect_uris"),
        grant_types=_registered(body, request, "grant_types"),
    )


def _registered(body: Mapping[str, Any], request: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """RFC 7591 §3.2.1 echoes the registered values; fall back to what was asked for."""
    value = body.get(name, request.get(name, []))
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()
