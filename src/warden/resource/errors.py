"""Why a request to a protected resource was refused (RFC 6750 §3.1).

::

    ResourceError
    ├── InvalidRequestError          400 invalid_request: the request itself is malformed
    ├── InvalidTokenError            401 invalid_token: expired, revoked, malformed or not ours
    ├── InsufficientScopeError       403 insufficient_scope: valid, but lacks a needed scope
    └── AuthorizationServerUnavailable  503: keys or introspection could not be reached

:class:`~warden.resource.middleware.RequireBearer` renders these as an RFC 6750 challenge.
A ``reason`` is private detail for the server's own logs: it never reaches the client, which
gets the error code only (SEC-84), and it never contains the token (SEC-88).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

__all__ = [
    "AuthorizationServerUnavailable",
    "InsufficientScopeError",
    "InvalidRequestError",
    "InvalidTokenError",
    "ResourceError",
]


class ResourceError(Exception):
    """Base of every refusal; ``reason`` is for logs, never for the client."""

    error: ClassVar[str]
    status_code: ClassVar[int]

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason or self.error)
        self.reason = reason


class InvalidRequestError(ResourceError):
    """RFC 6750 §3.1: malformed request, e.g. several ``Authorization`` headers."""

    error = "invalid_request"
    status_code = 400


class InvalidTokenError(ResourceError):
    """RFC 6750 §3.1: the access token is expired, revoked, malformed, or not for us."""

    error = "invalid_token"
    status_code = 401


class InsufficientScopeError(ResourceError):
    """RFC 6750 §3.1: the token is valid but the operation needs more scope.

    ``scopes`` is every scope the operation needs, not only the missing ones, so a client can
    step up in one round trip (MCP 2026-07-28 authorization, SEP-2350; mcp-auth.md RS8).
    """

    error = "insufficient_scope"
    status_code = 403

    def __init__(self, scopes: Iterable[str], reason: str = "") -> None:
        self.scopes = frozenset(scopes)
        super().__init__(reason or f"needs {' '.join(sorted(self.scopes))}")


class AuthorizationServerUnavailable(ResourceError):
    """The authorization server's metadata, keys or introspection endpoint did not answer.

    Not the client's fault, so not a 401: re-authorising would not help.
    """

    error = "temporarily_unavailable"
    status_code = 503
