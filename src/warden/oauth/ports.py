"""The storage interfaces the protocol engine needs, owned here and implemented in storage/.

Each port has only the methods its consumers call. Every "atomic" method is a single
compare-and-set in the database, never read-then-write (SEC-20, SEC-32, SEC-93).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from warden.oauth.model import (
    AuditEvent,
    AuthorizationCode,
    Client,
    Consent,
    DeviceAuthorization,
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
    "DeviceAuthorizationStore",
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
    async def find_by_registration_token(self, token_hash: str) -> Client | None: ...
    async def list_all(self) -> Sequence[Client]: ...
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

    async def purge(self, before: float) -> int:
        """Delete codes, used or not, that expired before ``before``; return how many."""
        ...


class GrantStore(Protocol):
    async def add(self, grant: Grant) -> None: ...
    async def get(self, grant_id: str) -> Grant | None: ...
    async def revoke(self, grant_id: str, at: float) -> None:
        """Revoke the grant, every refresh token in its family and every grant delegated
        from it by token exchange (``parent_grant_id``), transitively."""
        ...

    async def revoke_for_client(
        self, client_id: str, at: float, user_id: str | None = None
    ) -> list[str]:
        """Revoke every grant of a client (for one user, if given) and the grants delegated
        from them; return the client's grant ids."""
        ...

    async def list_for_user(self, user_id: str) -> Sequence[Grant]: ...
    async def purge(self, before: float) -> int:
        """Delete grants expired or revoked before ``before`` that no refresh token and no
        delegated grant refers to any more; return how many."""
        ...


class RefreshTokenStore(Protocol):
    async def add(self, token: RefreshToken) -> None: ...
    async def get(self, token_hash: str) -> RefreshToken | None: ...
    async def consume(self, token_hash: str, at: float) -> bool:
        """Mark the token rotated; True only for the one caller that flipped it (SEC-32)."""
        ...

    async def purge(self, before: float) -> int:
        """Delete tokens that expired, or whose grant expired or was revoked, before
        ``before``; return how many."""
        ...


class DeviceAuthorizationStore(Protocol):
    """Device authorizations (RFC 8628), found by the digest of either code (SEC-108)."""

    async def add(self, device: DeviceAuthorization) -> bool:
        """Store it; False, storing nothing, if its user code digest is already taken."""
        ...

    async def get(self, device_code_hash: str) -> DeviceAuthorization | None: ...
    async def find_by_user_code(self, user_code_hash: str) -> DeviceAuthorization | None: ...
    async def decide(
        self,
        user_code_hash: str,
        status: Literal["approved", "denied"],
        *,
        user_id: str,
        at: float,
        auth_time: float | None = None,
        grant_id: str | None = None,
    ) -> bool:
        """Approve or deny a pending, unexpired authorization; True only for the one caller
        that decided it (SEC-93)."""
        ...

    async def consume(self, device_code_hash: str, at: float) -> bool:
        """Mark an approved authorization collected; True only for the one caller that did."""
        ...

    async def poll(self, device_code_hash: str, at: float, *, slow_down_by: int) -> bool:
        """Record a poll. True if it came at least ``interval`` after the previous one; else
        the interval grows by ``slow_down_by`` seconds and False (RFC 8628 §3.5)."""
        ...

    async def purge(self, expired_before: float) -> int:
        """Delete authorizations that expired before ``expired_before``; return how many."""
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
    async def purge(self, before: float) -> int:
        """Delete sessions that expired before ``before``; return how many."""
        ...


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

    async def purge(self, before: float) -> int:
        """Forget values that expired before ``before`` (an expired token is refused by its
        ``exp`` anyway); return how many."""
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
    """Everything one unit of work can touch; the web layer opens one per request.

    Members are read-only properties so that an implementation may declare its own concrete
    store types (a mutable protocol attribute would have to match the port type exactly).
    """

    @property
    def clients(self) -> ClientStore: ...
    @property
    def users(self) -> UserStore: ...
    @property
    def codes(self) -> CodeStore: ...
    @property
    def grants(self) -> GrantStore: ...
    @property
    def refresh_tokens(self) -> RefreshTokenStore: ...
    @property
    def consents(self) -> ConsentStore: ...
    @property
    def devices(self) -> DeviceAuthorizationStore: ...
    @property
    def sessions(self) -> SessionStore: ...
    @property
    def denylist(self) -> TokenDenylist: ...
    @property
    def keys(self) -> KeyStore: ...
    @property
    def resources(self) -> ResourceStore: ...
    @property
    def audit(self) -> AuditSink: ...
