"""Proof Key for Code Exchange (RFC 7636, https://www.rfc-editor.org/rfc/rfc7636), S256 only,
and the ``state`` value that binds an authorization response to its request.

OAuth 2.1 §4.1.1 makes PKCE mandatory; ``plain`` would hand the verifier to anyone who reads
the authorization request, so the agent never uses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["S256", "new_code_verifier", "new_state", "s256_challenge", "same_secret"]

S256 = "S256"


def new_code_verifier() -> str:
    """A fresh verifier: 64 base64url characters, 384 bits (RFC 7636 §4.1 asks for ≥ 256)."""
    return secrets.token_urlsafe(48)


def s256_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(verifier)))`` without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    """An unguessable ``state`` (RFC 6749 §10.12): 256 bits."""
    return secrets.token_urlsafe(32)


def same_secret(received: str | None, expected: str) -> bool:
    """Compare a returned ``state`` with the one sent, in constant time."""
    if received is None:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())
