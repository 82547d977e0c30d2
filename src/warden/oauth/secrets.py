"""Generating, digesting and comparing secrets (SEC-107, SEC-108, SEC-109, SEC-111).

Every token, code and secret comes from :mod:`secrets`. What Warden stores is an HMAC-SHA-256
digest keyed with a pepper derived from the master secret: these values are 128–256-bit random,
so a slow password hash buys nothing and would cap throughput, while the pepper keeps a
database dump useless on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["SecretHasher", "constant_time_equals", "new_token"]


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random string of ``nbytes`` bytes of entropy (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two secrets in constant time (SEC-111)."""
    return hmac.compare_digest(a.encode(), b.encode())


class SecretHasher:
    """Digests secrets for storage and lookup."""

    def __init__(self, pepper: bytes) -> None:
        self._pepper = pepper

    def digest(self, value: str) -> str:
        return hmac.new(self._pepper, value.encode(), hashlib.sha256).hexdigest()

    def verify(self, value: str, digest: str) -> bool:
        return constant_time_equals(self.digest(value), digest)
