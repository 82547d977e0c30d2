"""Warden's cookies: the session id, and one sealed cookie per authorization transaction.

Attributes follow RFC 6265bis and SEC-71: ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, no
``Domain``, and on an https issuer ``Secure`` with the ``__Host-`` prefix, which the browser
enforces. A plain-http loopback development issuer drops both, since browsers and httpx do
not send ``Secure`` cookies over http.

A transaction cookie is sealed with Fernet (AES-128-CBC + HMAC-SHA256, with a timestamp):
encrypted so the browser learns nothing of the flow, authenticated so it cannot be altered,
and refused after ``login.transaction_ttl_seconds``.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import Response

from warden.clock import Clock
from warden.oauth.transactions import Transaction, is_transaction_id
from warden.settings import Settings
from warden.web.context import fernet_key

__all__ = ["Cookies", "TransactionSealer"]

MAX_COOKIE_BYTES = 4000
"""Browsers drop a cookie over 4096 bytes (RFC 6265 §6.1), so a bigger one is refused here."""


class TransactionSealer:
    """Seals transactions into cookie values and opens them again."""

    def __init__(self, master_secret: bytes, clock: Clock, ttl_seconds: int) -> None:
        self._fernet = Fernet(fernet_key(master_secret, "flow-cookie"))
        self._clock = clock
        self._ttl = ttl_seconds

    def seal(self, transaction: Transaction) -> str:
        data = json.dumps(transaction.to_dict(), separators=(",", ":")).encode()
        token = self._fernet.encrypt_at_time(data, int(self._clock.now()))
        # Fernet tokens are base64url; the padding "=" would force cookie quoting.
        return token.decode().rstrip("=")

    def unseal(self, txn: str, value: str | None) -> Transaction | None:
        """The transaction ``txn`` from its cookie; None if absent, forged or expired."""
        if not value:
            return None
        token = value + "=" * (-len(value) % 4)
        try:
            data = self._fernet.decrypt_at_time(token, self._ttl, int(self._clock.now()))
            transaction = Transaction.from_dict(json.loads(data))
        except (InvalidToken, ValueError, KeyError, TypeError):
            return None
        return transaction if transaction.txn == txn else None


class Cookies:
    """Names and attributes of Warden's cookies, for one issuer."""

    def __init__(self, settings: Settings) -> None:
        self._secure = not settings.is_development
        self._prefix = "__Host-" if self._secure else ""
        self.session = self.name("warden-session")
        self._transaction_prefix = self.name("warden-txn-")
        self._transaction_ttl = settings.login.transaction_ttl_seconds

    def name(self, base: str) -> str:
        """A cookie's name, with the ``__Host-`` prefix on an https issuer."""
        return self._prefix + base

    def transaction(self, txn: str) -> str:
        return self._transaction_prefix + txn

    def read_transaction(self, request: Request, txn: str | None) -> str | None:
        if not is_transaction_id(txn):
            return None
        assert txn is not None
        return request.cookies.get(self.transaction(txn))

    def set(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )

    def set_session(self, response: Response, session_id: str) -> None:
        """A browser-session cookie: the stored session's expiry is what counts (SEC-71)."""
        self.set(response, self.session, session_id, max_age=None)

    def set_transaction(self, response: Response, transaction: Transaction, value: str) -> None:
        self.set(response, self.transaction(transaction.txn), value, self._transaction_ttl)

    def delete(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self._secure, httponly=True, samesite="lax")
