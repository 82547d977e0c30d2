"""People who sign in."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import User
from warden.storage.models import UserRow

__all__ = ["SqlUserStore"]


def _from_row(row: UserRow) -> User:
    return User(row.user_id, row.username, row.password_hash, row.created_at)


class SqlUserStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, user_id: str) -> User | None:
        row = await self._s.get(UserRow, user_id)
        return _from_row(row) if row else None

    async def get_by_username(self, username: str) -> User | None:
        row = await self._s.scalar(select(UserRow).where(UserRow.username == username))
        return _from_row(row) if row else None

    async def add(self, user: User) -> None:
        self._s.add(
            UserRow(
                user_id=user.user_id,
                username=user.username,
                password_hash=user.password_hash,
                created_at=user.created_at,
            )
        )
        await self._s.flush()

    async def remove(self, username: str) -> bool:
        result = await self._s.execute(delete(UserRow).where(UserRow.username == username))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list(self) -> Sequence[User]:
        rows = await self._s.scalars(select(UserRow).order_by(UserRow.username))
        return [_from_row(r) for r in rows]
