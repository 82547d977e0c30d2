"""OAuth 2.0 Authorization Server Metadata (RFC 8414) and OpenID Connect Discovery 1.0.

https://www.rfc-editor.org/rfc/rfc8414 ·
https://openid.net/specs/openid-connect-discovery-1_0.html

The document advertises exactly what Warden implements (SEC-118): it is built from the
settings and the scope catalogue, never from the incoming request, so ``Host`` and
``X-Forwarded-*`` cannot change a single URL in it (SEC-114, RFC 8414 §3.3).
"""

from __future__ import annotations

from typing import Any

from warden.oauth.client_assertion import ASSERTION_ALGS
from warden.oauth.client_metadata import DEVICE_CODE, TOKEN_EXCHANGE
from warden.oauth.scopes import ScopeCatalogue
from warden.settings import Settings

__all__ = [
    "CLIENT_ASSERTION_SIGNING_ALGS",
    "CLIENT_AUTH_METHODS",
    "GRANT_TYPES",
    "SIGNING_ALGS",
    "authorization_server_metadata",
    "openid_configuration",
]

GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE,
    TOKEN_EXCHANGE,
)
"""OAuth 2.1 grants, the device grant (RFC 8628 §4) and token exchange (RFC 8693): no
``implicit``, no ``password`` (OAuth 2.1 §10, SEC-118)."""

CLIENT_AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post", "private_key_jwt")
"""RFC 7591 §2 method names; ``none`` is listed because public clients may register (P10)."""

CLIENT_ASSERTION_SIGNING_ALGS = ASSERTION_ALGS
"""Algorithms accepted for ``private_key_jwt`` client assertions (RFC 7523 §3): exactly the
ones :mod:`warden.oauth.client_assertion` verifies."""

SIGNING_ALGS = ("ES256", "EdDSA")
"""Algorithms of the keys Warden signs with (``TokenSettings.signing_alg``)."""

_AUTHENTICATED_METHODS = tuple(m for m in CLIENT_AUTH_METHODS if m != "none")


def authorization_server_metadata(settings: Settings, scopes: ScopeCatalogue) -> dict[str, Any]:
    """The RFC 8414 §2 document for this issuer.

    ``registration_endpoint`` appears only while registration is open and
    ``client_id_metadata_document_supported`` mirrors the CIMD setting, so a client never
    follows an advertisement to an endpoint that refuses it.
    """
    doc: dict[str, Any] = {
        "issuer": settings.issuer,
        "authorization_endpoint": settings.endpoint("/authorize"),
        "token_endpoint": settings.endpoint("/token"),
        "jwks_uri": settings.endpoint("/jwks.json"),
        # RFC 8628 §4: where devices without a browser start.
        "device_authorization_endpoint": settings.endpoint("/device_authorization"),
    }
    if settings.registration.enabled:
        doc["registration_endpoint"] = settings.endpoint("/register")
    doc.update(
        {
            "scopes_supported": scopes.names(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ASSERTION_SIGNING_ALGS),
            # RFC 7009 §2.1: a public client may revoke its own tokens with only client_id.
            "revocation_endpoint": settings.endpoint("/revoke"),
            "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
            "revocation_endpoint_auth_signing_alg_values_supported": list(
                CLIENT_ASSERTION_SIGNING_ALGS
            ),
            # RFC 7662 §2.1: the caller of introspection must be authenticated.
            "introspection_endpoint": settings.endpoint("/introspect"),
            "introspection_endpoint_auth_methods_supported": list(_AUTHENTICATED_METHODS),
            "introspection_endpoint_auth_signing_alg_values_supported": list(
                CLIENT_ASSERTION_SIGNING_ALGS
            ),
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": settings.cimd.enabled,
        }
    )
    return doc


def openid_configuration(settings: Settings, scopes: ScopeCatalogue) -> dict[str, Any]:
    """The same document served as OIDC Discovery (MCP 2025-11-25 accepts either).

    OIDC Discovery §3 makes ``subject_types_supported`` and
    ``id_token_signing_alg_values_supported`` required, and the TypeScript MCP SDK refuses a
    document without them (mcp-auth P10). Warden issues no ID tokens yet; the algorithms
    listed are those its keys sign with, which ID tokens would use.
    """
    return {
        **authorization_server_metadata(settings, scopes),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
    }
