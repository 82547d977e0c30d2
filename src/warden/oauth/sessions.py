"""Signed-in browser sessions, kept server side (SEC-71, SEC-72, SEC-75).

The browser holds only a random session id; the store keeps its digest, so a database dump
cannot be replayed as a cookie. Signing in always starts a new session (the old id dies, which
defeats session fixation), and signing out deletes the stored session.
"""

from __future__ import annotations

import hashlib
import hmac

from warden.oauth.model import Session
from warden.oauth.ports import SessionStore
from warden.oauth.secrets import SecretHasher, constant_time_equals, new_token

__all__ = ["Sessions"]


class Sessions:
    """Starts, finds and ends sessions; one per request, over that request's store."""

    def __init__(
        self, store: SessionStore, hasher: SecretHasher, *, ttl_seconds: int, csrf_key: bytes
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._ttl = ttl_seconds
        self._csrf_key = csrf_key

    async def start(
        self, user_id: str, *, now: float, replacing: str | None = None
    ) -> tuple[str, Session]:
        """Sign ``user_id`` in with a fresh session id; end ``replacing`` (SEC-72).

        Returns the id for the cookie and the stored session.
        """
        if replacing:
            await self.end(replacing)
        session_id = new_token(32)
        session = Session(
            session_hash=self._hasher.digest(session_id),
            user_id=user_id,
            auth_time=now,
            expires_at=now + self._ttl,
        )
        await self._store.add(session)
        return session_id, session

    async def find(self, session_id: str | None, *, now: float) -> Session | None:
        """The live session for a cookie value; an expired one is deleted."""
        if not session_id:
            return None
        session = await self._store.get(self._hasher.digest(session_id))
        if session is None:
            return None
        if session.expires_at <= now:
            await self._store.delete(session.session_hash)
            return None
        return session

    async def end(self, session_id: str) -> None:
        """Sign out: the stored session is gone, whatever the browser keeps (SEC-75)."""
        await self._store.delete(self._hasher.digest(session_id))

    def csrf_token(self, session: Session) -> str:
        """A per-session CSRF token for forms outside an authorization transaction (SEC-65)."""
        mac = hmac.new(self._csrf_key, session.session_hash.encode(), hashlib.sha256)
        return mac.hexdigest()

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return token is not None and constant_time_equals(self.csrf_token(session), token)
