"""Proof Key for Code Exchange, RFC 7636 (https://www.rfc-editor.org/rfc/rfc7636), S256 only.

OAuth 2.1 §4.1.1 makes PKCE mandatory and Warden accepts only the ``S256`` method (SEC-1,
SEC-2): ``plain`` would hand the verifier to anyone who can read the authorization request.

    code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))
"""

from __future__ import annotations

import base64
import hashlib
import re

from warden.errors import InvalidRequestError
from warden.oauth.secrets import constant_time_equals

__all__ = [
    "S256",
    "SUPPORTED_METHODS",
    "check_challenge",
    "check_verifier",
    "is_valid_challenge",
    "is_valid_verifier",
    "s256_challenge",
    "verify",
    "verify_pkce",
]

S256 = "S256"
SUPPORTED_METHODS: tuple[str, ...] = (S256,)

# RFC 7636 §4.1: code-verifier = 43*128unreserved (ALPHA / DIGIT / "-" / "." / "_" / "~")
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# An S256 challenge is the unpadded base64url of 32 bytes: exactly 43 characters (SEC-3).
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43}")


def is_valid_verifier(verifier: str) -> bool:
    """Whether ``verifier`` has the syntax of RFC 7636 §4.1 (43–128 unreserved characters)."""
    return _VERIFIER.fullmatch(verifier) is not None


def is_valid_challenge(challenge: str) -> bool:
    """Whether ``challenge`` is a syntactically valid S256 challenge (RFC 7636 §4.2, SEC-3)."""
    return _S256_CHALLENGE.fullmatch(challenge) is not None


def s256_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify(verifier: str, challenge: str) -> bool:
    """Whether ``verifier`` matches the stored S256 ``challenge``, compared in constant time.

    RFC 7636 §4.6; SEC-22, SEC-111. A verifier of the wrong syntax never matches.
    """
    if not is_valid_verifier(verifier):
        return False
    return constant_time_equals(s256_challenge(verifier), challenge)


verify_pkce = verify


def check_challenge(challenge: str | None, method: str | None) -> None:
    """Validate the PKCE parameters of an authorization request (OAuth 2.1 §4.1.1).

    :raises InvalidRequestError: the challenge is missing (SEC-1), the method is not ``S256``
        — an absent method means ``plain`` under RFC 7636 §4.3 (SEC-2) — or the challenge is
        not 43 unreserved characters (SEC-3).
    """
    if not challenge:
        raise InvalidRequestError("code_challenge is required")
    if method != S256:
        raise InvalidRequestError("code_challenge_method must be S256")
    if not is_valid_challenge(challenge):
        raise InvalidRequestError("code_challenge must be 43 characters of base64url")


def check_verifier(verifier: str | None) -> str:
    """Validate the ``code_verifier`` of a token request and return it (RFC 7636 §4.5).

    :raises InvalidRequestError: it is missing or not 43–128 unreserved characters (SEC-22).
    """
    if not verifier:
        raise InvalidRequestError("code_verifier is required")
    if not is_valid_verifier(verifier):
        raise InvalidRequestError("code_verifier must be 43-128 unreserved characters")
    return verifier
