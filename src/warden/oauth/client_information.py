"""The client information response and the JSON request body of registration.

RFC 7591 §3.1 (https://www.rfc-editor.org/rfc/rfc7591#section-3.1): the request is one JSON
object; §3.2.1 and RFC 7592 §3: the response is the registered metadata plus what the server
issued. Secrets appear in a response only when they are issued, because Warden keeps only
their digests.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from warden.errors import InvalidClientMetadataError
from warden.oauth.model import Client

__all__ = ["SECRET_METHODS", "Registration", "client_information", "parse_json_object"]

SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
"""Auth methods that use a client secret issued by Warden."""


@dataclasses.dataclass(frozen=True, slots=True)
class Registration:
    """A client and the secrets issued with this response (each shown only once)."""

    client: Client
    registration_access_token: str | None = None
    client_secret: str | None = None
    deduplicated: bool = False

    def to_dict(self, registration_client_uri: str | None) -> dict[str, Any]:
        """The client information response (RFC 7591 §3.2.1, RFC 7592 §3)."""
        data = client_information(self.client)
        if self.client_secret is not None:
            data["client_secret"] = self.client_secret
        if self.registration_access_token is not None and registration_client_uri:
            data["registration_access_token"] = self.registration_access_token
            data["registration_client_uri"] = registration_client_uri
        return data


def client_information(client: Client) -> dict[str, Any]:
    """A client's registered metadata, without any secret."""
    data: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at),
        "redirect_uris": list(client.redirect_uris),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "grant_types": list(client.grant_types),
        "response_types": list(client.response_types),
        "application_type": client.application_type,
        "client_kind": client.kind,
        **client.metadata,
    }
    if client.scope is not None:
        data["scope"] = client.scope
    if client.token_endpoint_auth_method in SECRET_METHODS:
        data["client_secret_expires_at"] = client.secret_expires_at
    return data


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (RFC 7591 §3.1); duplicate members are refused."""
    try:
        data = json.loads(body, object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise InvalidClientMetadataError("The request body must be a JSON object")
    return data


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("duplicate member")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
