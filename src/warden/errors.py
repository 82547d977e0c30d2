"""Protocol errors: one class per registered OAuth error code.

Protocol code raises these; only :mod:`warden.web.adapters` turns them into responses.
Each class carries the HTTP status and whether the error may be sent to the client's
(already validated) redirect URI. ``description`` is public; ``detail`` is for logs and the
audit trail only and never leaves the server.

    OAuthError
    ├── InvalidRequestError            invalid_request            RFC 6749 §4.1.2.1, §5.2
    ├── InvalidClientError             invalid_client (401)       RFC 6749 §5.2
    ├── InvalidGrantError              invalid_grant              RFC 6749 §5.2
    ├── UnauthorizedClientError        unauthorized_client        RFC 6749 §5.2
    ├── UnsupportedGrantTypeError      unsupported_grant_type     RFC 6749 §5.2
    ├── InvalidScopeError              invalid_scope              RFC 6749 §5.2
    ├── AccessDeniedError              access_denied              RFC 6749 §4.1.2.1, RFC 8628 §3.5
    ├── UnsupportedResponseTypeError   unsupported_response_type  RFC 6749 §4.1.2.1
    ├── ServerError                    server_error (500)         RFC 6749 §4.1.2.1
    ├── TemporarilyUnavailableError    temporarily_unavailable    RFC 6749 §4.1.2.1 (503)
    ├── SlowDownError / RateLimited    slow_down / rate limits    RFC 8628 §3.5 (429 variant below)
    ├── InvalidTokenError              invalid_token (401)        RFC 6750 §3.1
    ├── InsufficientScopeError         insufficient_scope (403)   RFC 6750 §3.1
    ├── UnsupportedTokenTypeError      unsupported_token_type     RFC 7009 §2.2.1
    ├── InvalidRedirectUriError        invalid_redirect_uri       RFC 7591 §3.2.2
    ├── InvalidClientMetadataError     invalid_client_metadata    RFC 7591 §3.2.2
    ├── InvalidSoftwareStatementError  invalid_software_statement RFC 7591 §3.2.2
    ├── UnapprovedSoftwareStatementError unapproved_software_statement RFC 7591 §3.2.2
    ├── AuthorizationPendingError      authorization_pending      RFC 8628 §3.5
    ├── ExpiredTokenError              expired_token              RFC 8628 §3.5
    ├── InvalidTargetError             invalid_target             RFC 8707 §2
    ├── LoginRequiredError             login_required             OIDC Core §3.1.2.6
    ├── ConsentRequiredError           consent_required           OIDC Core §3.1.2.6
    └── InteractionRequiredError       interaction_required       OIDC Core §3.1.2.6

``TooManyRequestsError`` is the one non-registered code: a 429 with ``Retry-After`` for
rate limits, whose body still uses the OAuth error shape so clients parse it.

Internal failures that are never shown to clients have their own small hierarchy
(:class:`WardenError`).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccessDeniedError",
    "AuthorizationPendingError",
    "ConfigurationError",
    "ConsentRequiredError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InteractionRequiredError",
    "InvalidClientError",
    "InvalidClientMetadataError",
    "InvalidGrantError",
    "InvalidRedirectUriError",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidSoftwareStatementError",
    "InvalidTargetError",
    "InvalidTokenError",
    "LoginRequiredError",
    "OAuthError",
    "ServerError",
    "SlowDownError",
    "StorageError",
    "TemporarilyUnavailableError",
    "TooManyRequestsError",
    "UnapprovedSoftwareStatementError",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UnsupportedResponseTypeError",
    "UnsupportedTokenTypeError",
    "WardenError",
]

# RFC 6749 §5.2: error_description is restricted to %x20-21 / %x23-5B / %x5D-7E.
_ALLOWED_DESCRIPTION = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}


class OAuthError(Exception):
    """Base of every protocol error."""

    error: ClassVar[str]
    status_code: ClassVar[int] = 400
    redirectable: ClassVar[bool] = True

    def __init__(
        self,
        description: str | None = None,
        *,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if description is not None:
            description = "".join(c if c in _ALLOWED_DESCRIPTION else "?" for c in description)
        self.description = description
        self.detail = detail
        self.headers = dict(headers or {})
        super().__init__(description or self.error)

    def to_dict(self) -> dict[str, str]:
        """The JSON body of RFC 6749 §5.2 (and RFC 7591 §3.2.2)."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequestError(OAuthError):
    """The request is missing a required parameter, repeats one, or is otherwise malformed.

    RFC 6749 §4.1.2.1, §5.2.
    """

    error = "invalid_request"


class InvalidClientError(OAuthError):
    """Client authentication failed (unknown client, no or wrong credentials, wrong method).

    RFC 6749 §5.2: 401, with ``WWW-Authenticate`` when the client used the Authorization
    header. The body is identical for every cause (SEC-28).
    """

    error = "invalid_client"
    status_code = 401
    redirectable = False


class InvalidGrantError(OAuthError):
    """The grant or refresh token is invalid, expired, revoked or bound to another client.

    RFC 6749 §5.2.
    """

    error = "invalid_grant"


class UnauthorizedClientError(OAuthError):
    """The client may not use this grant type or response type. RFC 6749 §5.2."""

    error = "unauthorized_client"


class UnsupportedGrantTypeError(OAuthError):
    """The grant type is not supported by Warden. RFC 6749 §5.2."""

    error = "unsupported_grant_type"


class InvalidScopeError(OAuthError):
    """The scope is invalid, unknown, malformed or exceeds what was granted. RFC 6749 §5.2."""

    error = "invalid_scope"


class AccessDeniedError(OAuthError):
    """The resource owner or the server denied the request. RFC 6749 §4.1.2.1, RFC 8628 §3.5."""

    error = "access_denied"


class UnsupportedResponseTypeError(OAuthError):
    """Only ``response_type=code`` exists in OAuth 2.1. RFC 6749 §4.1.2.1."""

    error = "unsupported_response_type"


class ServerError(OAuthError):
    """An unexpected condition. Never exposes detail (SEC-117). RFC 6749 §4.1.2.1."""

    error = "server_error"
    status_code = 500


class TemporarilyUnavailableError(OAuthError):
    """The server is overloaded or in maintenance. RFC 6749 §4.1.2.1."""

    error = "temporarily_unavailable"
    status_code = 503


class SlowDownError(OAuthError):
    """The device is polling faster than the interval. RFC 8628 §3.5."""

    error = "slow_down"


class TooManyRequestsError(OAuthError):
    """A rate limit was hit: 429 with ``Retry-After`` (RFC 6585 §4), in OAuth error shape."""

    error = "rate_limited"
    status_code = 429
    redirectable = False

    def __init__(self, retry_after_seconds: int, description: str | None = None) -> None:
        super().__init__(
            description or "Too many requests; retry later",
            headers={"Retry-After": str(max(1, retry_after_seconds))},
        )
        self.retry_after_seconds = retry_after_seconds


class InvalidTokenError(OAuthError):
    """The access token is expired, revoked, malformed or for another audience. RFC 6750 §3.1."""

    error = "invalid_token"
    status_code = 401
    redirectable = False


class InsufficientScopeError(OAuthError):
    """The token lacks a scope the request needs. RFC 6750 §3.1."""

    error = "insufficient_scope"
    status_code = 403
    redirectable = False


class UnsupportedTokenTypeError(OAuthError):
    """Revocation of this token type is not supported. RFC 7009 §2.2.1."""

    error = "unsupported_token_type"


class InvalidRedirectUriError(OAuthError):
    """A registered redirect URI is not acceptable. RFC 7591 §3.2.2."""

    error = "invalid_redirect_uri"
    redirectable = False


class InvalidClientMetadataError(OAuthError):
    """A client metadata value is invalid. RFC 7591 §3.2.2."""

    error = "invalid_client_metadata"
    redirectable = False


class InvalidSoftwareStatementError(OAuthError):
    """The software statement is invalid. RFC 7591 §3.2.2."""

    error = "invalid_software_statement"
    redirectable = False


class UnapprovedSoftwareStatementError(OAuthError):
    """The software statement is not from a trusted issuer. RFC 7591 §3.2.2."""

    error = "unapproved_software_statement"
    redirectable = False


class AuthorizationPendingError(OAuthError):
    """The user has not yet completed the device authorization. RFC 8628 §3.5."""

    error = "authorization_pending"


class ExpiredTokenError(OAuthError):
    """The device code expired. RFC 8628 §3.5."""

    error = "expired_token"


class InvalidTargetError(OAuthError):
    """The requested resource is invalid, unknown or not allowed. RFC 8707 §2."""

    error = "invalid_target"


class LoginRequiredError(OAuthError):
    """``prompt=none`` but the user is not signed in. OIDC Core §3.1.2.6."""

    error = "login_required"


class ConsentRequiredError(OAuthError):
    """``prompt=none`` but consent has not been given. OIDC Core §3.1.2.6."""

    error = "consent_required"


class InteractionRequiredError(OAuthError):
    """``prompt=none`` but some interaction is needed. OIDC Core §3.1.2.6."""

    error = "interaction_required"


class WardenError(Exception):
    """Base of internal failures; never shown to clients."""


class ConfigurationError(WardenError):
    """The settings are inconsistent or insecure for the mode Warden runs in."""


class StorageError(WardenError):
    """The storage backend failed in a way the protocol code cannot recover from."""
