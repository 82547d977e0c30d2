"""The storage interfaces the protocol engine needs, owned here and implemented in storage/.

Each port has only the methods its consumers call. Every "atomic" method is a single
compare-and-set in the database, never read-then-write (SEC-20, SEC-32, SEC-93).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from warden.oauth.model import (
    AuditEvent,
    AuthorizationCode,
    Client,
    Consent,
    Grant,
    RefreshToken,
    Resource,
    Session,
    StoredKey,
    User,
)

__all__ = [
    "AuditSink",
    "ClientStore",
    "CodeStore",
    "ConsentStore",
    "GrantStore",
    "KeyStore",
    "RefreshTokenStore",
    "ResourceStore",
    "SessionStore",
    "Stores",
    "TokenDenylist",
    "UserStore",
]


class ClientStore(Protocol):
    async def get(self, client_id: str) -> Client | None: ...
    async def add(self, client: Client) -> None: ...
    async def replace(self, client: Client) -> None: ...
    async def delete(self, client_id: str) -> bool: ...
    async def find_by_fingerprint(self, fingerprint: str) -> Client | None: ...
    async def count(self, origin: str) -> int: ...
    async def touch(self, client_id: str, at: float) -> None: ...
    async def reap(self, idle_before: float) -> list[str]:
        """Delete dynamic clients created and last used before ``idle_before``."""
        ...


class UserStore(Protocol):
    async def get(self, user_id: str) -> User | None: ...
    async def get_by_username(self, username: str) -> User | None: ...
    async def add(self, user: User) -> None: ...
    async def remove(self, username: str) -> bool: ...
    async def list(self) -> Sequence[User]: ...


class CodeStore(Protocol):
    async def add(self, code: AuthorizationCode) -> None: ...
    async def get(self, code_hash: str) -> AuthorizationCode | None: ...
    async def consume(self, code_hash: str, at: float) -> bool:
        """Mark the code used; True only for the one caller that flipped it (SEC-20)."""
        ...


class GrantStore(Protocol):
    async def add(self, grant: Grant) -> None: ...
    async def get(self, grant_id: str) -> Grant | None: ...
    async def revoke(self, grant_id: str, at: float) -> None:
        """Revoke the grant and every refresh token in its family."""
        ...

    async def revoke_for_client(
        self, client_id: str, at: float, user_id: str | None = None
    ) -> list[str]:
        """Revoke every grant of a client (for one user, if given); return their ids."""
        ...

    async def list_for_user(self, user_id: str) -> Sequence[Grant]: ...


class RefreshTokenStore(Protocol):
    async def add(self, token: RefreshToken) -> None: ...
    async def get(self, token_hash: str) -> RefreshToken | None: ...
    async def consume(self, token_hash: str, at: float) -> bool:
        """Mark the token rotated; True only for the one caller that flipped it (SEC-32)."""
        ...


class ConsentStore(Protocol):
    async def get(self, user_id: str, client_id: str) -> Consent | None: ...
    async def put(self, consent: Consent) -> None: ...
    async def delete(self, user_id: str, client_id: str) -> bool: ...
    async def delete_for_client(self, client_id: str) -> int: ...
    async def list_for_user(self, user_id: str) -> Sequence[Consent]: ...


class SessionStore(Protocol):
    async def add(self, session: Session) -> None: ...
    async def get(self, session_hash: str) -> Session | None: ...
    async def delete(self, session_hash: str) -> None: ...


class TokenDenylist(Protocol):
    """Access tokens (JWTs) revoked one by one, by ``jti``, kept until they expire."""

    async def add(self, jti: str, expires_at: float) -> None: ...
    async def contains(self, jti: str) -> bool: ...
    async def claim(self, jti: str, expires_at: float) -> bool:
        """Record ``jti`` unless present; True only for the one caller that recorded it.

        A single insert-if-absent, so two concurrent uses of one value cannot both succeed
        (client assertion replay, RFC 7523 §3 item 7).
        """
        ...


class KeyStore(Protocol):
    async def list(self) -> Sequence[StoredKey]: ...
    async def add(self, key: StoredKey) -> None: ...
    async def replace(self, key: StoredKey) -> None: ...


class ResourceStore(Protocol):
    async def get(self, uri: str) -> Resource | None: ...
    async def add(self, resource: Resource) -> None: ...
    async def remove(self, uri: str) -> bool: ...
    async def list(self) -> Sequence[Resource]: ...


class AuditSink(Protocol):
    async def record(self, event: AuditEvent) -> None: ...


class Stores(Protocol):
    """Everything one unit of work can touch; the web layer opens one per request."""

    clients: ClientStore
    users: UserStore
    codes: CodeStore
    grants: GrantStore
    refresh_tokens: RefreshTokenStore
    consents: ConsentStore
    sessions: SessionStore
    denylist: TokenDenylist
    keys: KeyStore
    resources: ResourceStore
    audit: AuditSink
