"""Protect an ASGI application or MCP server with OAuth 2.1 bearer tokens.

The resource-server half of Warden, usable with Warden or any compliant authorization server:
it imports nothing of Warden's server (no database, no web framework). It provides

- :class:`ProtectedResourceMetadata`: the RFC 9728 document clients discover you by;
- :class:`TokenVerifier`: local validation of RFC 9068 JWT access tokens against the issuer's
  JWKS; :class:`IntrospectionVerifier`: RFC 7662 introspection;
- :class:`RequireBearer`: ASGI middleware answering RFC 6750 challenges and handing handlers
  a typed :class:`Principal`; :func:`require_scopes` for per-route step-up;
- :mod:`warden.resource.mcp`: the ``mcp`` SDK and FastMCP integrations.

::

    from warden.resource import ProtectedResourceMetadata, RequireBearer, TokenVerifier

    app = RequireBearer(
        app,
        verifier=TokenVerifier(issuer="https://auth.example", resource="https://rs.example/mcp"),
        metadata=ProtectedResourceMetadata(
            resource="https://rs.example/mcp", authorization_servers=["https://auth.example"]
        ),
    )
"""

from warden.resource.challenge import bearer_challenge, parse_bearer_challenge, parse_challenges
from warden.resource.discovery import AuthorizationServerMetadata
from warden.resource.errors import (
    AuthorizationServerUnavailable,
    InsufficientScopeError,
    InvalidRequestError,
    InvalidTokenError,
    ResourceError,
)
from warden.resource.introspection import IntrospectionVerifier
from warden.resource.jwks import JwksCache, VerificationKey
from warden.resource.metadata import ProtectedResourceMetadata, ProtectedResourceMetadataApp
from warden.resource.middleware import RequireBearer
from warden.resource.principal import (
    Actor,
    ActorType,
    Principal,
    current_principal,
    require_scopes,
)
from warden.resource.scopes import covers, missing_scopes
from warden.resource.verifier import BearerVerifier, TokenVerifier

__all__ = [
    "Actor",
    "ActorType",
    "AuthorizationServerMetadata",
    "AuthorizationServerUnavailable",
    "BearerVerifier",
    "InsufficientScopeError",
    "IntrospectionVerifier",
    "InvalidRequestError",
    "InvalidTokenError",
    "JwksCache",
    "Principal",
    "ProtectedResourceMetadata",
    "ProtectedResourceMetadataApp",
    "RequireBearer",
    "ResourceError",
    "TokenVerifier",
    "VerificationKey",
    "bearer_challenge",
    "covers",
    "current_principal",
    "missing_scopes",
    "parse_bearer_challenge",
    "parse_challenges",
    "require_scopes",
]
