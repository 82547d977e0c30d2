"""Users: argon2id hashes, generic failures and a dummy hash for unknown users."""

from __future__ import annotations

from unittest import mock

import pytest
from argon2 import PasswordHasher

from warden.oauth.model import User
from warden.oauth.users import (
    InvalidUsernameError,
    Passwords,
    add_user,
    authenticate,
    normalise_username,
)
from warden.settings import LoginSettings


class MemoryUsers:
    def __init__(self) -> None:
        self.by_name: dict[str, User] = {}

    async def get(self, user_id: str) -> User | None:
        return next((u for u in self.by_name.values() if u.user_id == user_id), None)

    async def get_by_username(self, username: str) -> User | None:
        return self.by_name.get(username)

    async def add(self, user: User) -> None:
        self.by_name[user.username] = user

    async def remove(self, username: str) -> bool:
        return self.by_name.pop(username, None) is not None

    async def list(self) -> list[User]:
        return list(self.by_name.values())


@pytest.fixture
def passwords() -> Passwords:
    return Passwords(LoginSettings(argon2_memory_kib=1024, argon2_time_cost=1))


async def test_sec_112_argon2id_with_per_user_salt(passwords: Passwords) -> None:
    users = MemoryUsers()
    alice = await add_user(users, "alice", "same", passwords=passwords, now=1.0)
    bob = await add_user(users, "bob", "same", passwords=passwords, now=1.0)
    assert alice.password_hash.startswith("$argon2id$")
    assert alice.password_hash != bob.password_hash
    assert alice.user_id.startswith("usr_") and alice.user_id != bob.user_id


async def test_authenticate(passwords: Passwords) -> None:
    users = MemoryUsers()
    alice = await add_user(users, "Alice", "pw", passwords=passwords, now=1.0)
    assert await authenticate(users, "alice", "pw", passwords=passwords) == alice
    assert await authenticate(users, " ALICE ", "pw", passwords=passwords) == alice
    assert await authenticate(users, "alice", "wrong", passwords=passwords) is None
    assert await authenticate(users, "nobody", "pw", passwords=passwords) is None
    assert await authenticate(users, "not valid!", "pw", passwords=passwords) is None


async def test_sec_73_unknown_user_still_costs_one_hash(passwords: Passwords) -> None:
    users = MemoryUsers()
    await add_user(users, "alice", "pw", passwords=passwords, now=1.0)
    await passwords.dummy_hash()  # computed once, up front
    real = PasswordHasher.verify
    with mock.patch.object(PasswordHasher, "verify", autospec=True, side_effect=real) as spy:
        assert await authenticate(users, "nobody", "pw", passwords=passwords) is None
        assert await authenticate(users, "alice", "nope", passwords=passwords) is None
    assert spy.call_count == 2


@pytest.mark.parametrize("name", ["", " ", "a b", "é", "x" * 65, "-lead"])
def test_invalid_usernames(name: str) -> None:
    with pytest.raises(InvalidUsernameError):
        normalise_username(name)


async def test_duplicate_and_empty_password_refused(passwords: Passwords) -> None:
    users = MemoryUsers()
    await add_user(users, "alice", "pw", passwords=passwords, now=1.0)
    with pytest.raises(ValueError, match="already exists"):
        await add_user(users, "ALICE", "pw", passwords=passwords, now=1.0)
    with pytest.raises(ValueError, match="empty"):
        await add_user(users, "bob", "", passwords=passwords, now=1.0)
