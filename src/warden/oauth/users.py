"""People who sign in with a password (OAuth 2.1 §7.7; SEC-73, SEC-112).

Passwords are hashed with argon2id (RFC 9106) and a per-user random salt, through
argon2-cffi. Hashing is deliberately slow, so it runs in a worker thread; an unknown username
still costs one verification against a dummy hash, so response time does not reveal which
usernames exist.
"""

from __future__ import annotations

import asyncio
import re
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from warden.oauth.model import User
from warden.oauth.ports import UserStore
from warden.oauth.secrets import new_token
from warden.settings import LoginSettings

__all__ = [
    "InvalidUsernameError",
    "Passwords",
    "add_user",
    "authenticate",
    "normalise_username",
]

# Lower-case ASCII, so "Alice" and "alice" are one account and no look-alike characters.
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")


class InvalidUsernameError(ValueError):
    """The username is not 1–64 characters of ``a-z 0-9 . _ @ + -``."""


def normalise_username(username: str) -> str:
    """The stored form of a username; :raises InvalidUsernameError: if it is not valid."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidUsernameError("A username is 1-64 characters of a-z 0-9 . _ @ + -")
    return name


class Passwords:
    """argon2id hashing with the configured cost, plus the dummy hash for unknown users."""

    def __init__(self, settings: LoginSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def dummy_hash(self) -> str:
        """A hash with the same parameters as real ones, for users that do not exist."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check ``password``; with no hash (unknown user) verify a dummy one and fail."""
        target = password_hash if password_hash is not None else await self.dummy_hash()
        try:
            matched = await asyncio.to_thread(self._hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(matched) and password_hash is not None


async def add_user(
    users: UserStore, username: str, password: str, *, passwords: Passwords, now: float
) -> User:
    """Create a user with a random id (``usr_…``, never derived from the username).

    :raises InvalidUsernameError: the username is not valid.
    :raises ValueError: the password is empty or the username is taken.
    """
    name = normalise_username(username)
    if not password:
        raise ValueError("The password must not be empty")
    if await users.get_by_username(name) is not None:
        raise ValueError(f"User {name} already exists")
    user = User(
        user_id="usr_" + new_token(16),
        username=name,
        password_hash=await passwords.hash(password),
        created_at=now,
    )
    await users.add(user)
    return user


async def authenticate(
    users: UserStore, username: str, password: str, *, passwords: Passwords
) -> User | None:
    """The user if ``password`` is theirs; None for an unknown user or a wrong password.

    Both failures cost one argon2id verification and look the same to the caller (SEC-73).
    """
    try:
        user = await users.get_by_username(normalise_username(username))
    except InvalidUsernameError:
        user = None
    ok = await passwords.verify(user.password_hash if user else None, password)
    return user if ok else None
