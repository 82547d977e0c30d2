"""Why the agent could not obtain a usable access token.

Every failure of the agent side is an :class:`AgentAuthError`; the request that needed the
token fails with it, so an application catches one type::

    AgentAuthError
    ├── DiscoveryError       resource or authorization server metadata unusable (RFC 9728, RFC 8414)
    ├── RegistrationError    no way to register, or registration refused (RFC 7591 §3.2.2)
    ├── AuthorizationError   the authorization response is an error or fails validation
    │                        (RFC 6749 §4.1.2, RFC 9207 §2.4)
    └── TokenError           the token or device authorization endpoint answered with an
                             error (RFC 6749 §5.2, RFC 8628 §3.5)

Errors carry the server's registered ``error`` code where there is one, so an application can
tell ``access_denied`` (the person said no) from a broken server. Token values never appear
in messages.
"""

from __future__ import annotations

__all__ = [
    "AgentAuthError",
    "AuthorizationError",
    "DiscoveryError",
    "RegistrationError",
    "TokenError",
]


class AgentAuthError(Exception):
    """The agent could not obtain a usable access token."""


class DiscoveryError(AgentAuthError):
    """Protected resource or authorization server metadata is missing, malformed or untrusted."""


class _ServerError(AgentAuthError):
    """An error a server reported with a registered ``error`` code (RFC 6749 §5.2)."""

    def __init__(
        self, message: str, *, error: str | None = None, description: str | None = None
    ) -> None:
        detail = f"{message}: {error}" if error else message
        if description:
            detail = f"{detail} ({description})"
        super().__init__(detail)
        self.error = error
        self.description = description


class RegistrationError(_ServerError):
    """The agent could not register: no supported registration path, or the AS refused."""


class AuthorizationError(_ServerError):
    """The authorization response was an error, or failed the ``state``/``iss`` checks.

    ``error`` is the authorization server's code (``access_denied``, ...) when it sent one and
    the response passed validation; it is None when the agent itself refused the response.
    """


class TokenError(_ServerError):
    """The token endpoint (or the device authorization endpoint) refused the request.

    ``error`` is the registered code, e.g. ``invalid_grant``, ``expired_token`` or
    ``access_denied``; ``status_code`` is the HTTP status (0 when the agent gave up itself).
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        status_code: int = 0,
    ) -> None:
        super().__init__(message, error=error, description=description)
        self.status_code = status_code
