"""Private signing keys at rest: Fernet (AES-128-CBC + HMAC-SHA-256) over the private JWK.

RFC 8725 §3.1 and SEC-110: the private half of a signing key never sits in the database in
plaintext. The web layer derives the Fernet key from the master secret
(``fernet_key(master, "signing-keys")``) and passes the bytes in, so this package stays free
of settings and of the web layer. Older Fernet keys may follow the current one: that is how a
master-secret rotation keeps reading keys written under the previous secret
(:class:`cryptography.fernet.MultiFernet`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from warden.errors import ConfigurationError

__all__ = ["KeyCipher"]


class KeyCipher:
    """Encrypts and decrypts private JWKs with one current and any number of older keys."""

    def __init__(self, key: bytes, *older_keys: bytes) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in (key, *older_keys)])

    def encrypt(self, jwk: Mapping[str, Any]) -> bytes:
        """The JWK as compact JSON, encrypted and authenticated with the current key."""
        return self._fernet.encrypt(json.dumps(dict(jwk), separators=(",", ":")).encode())

    def decrypt(self, token: bytes) -> dict[str, Any]:
        """The JWK back; a wrong master secret is a configuration error, never a silent miss."""
        try:
            plaintext = self._fernet.decrypt(token)
        except InvalidToken:
            raise ConfigurationError(
                "a signing key cannot be decrypted: WARDEN_SECRET_KEY differs from the one "
                "that encrypted it"
            ) from None
        value = json.loads(plaintext)
        if not isinstance(value, dict):
            raise ConfigurationError("a decrypted signing key is not a JWK object")
        return value
