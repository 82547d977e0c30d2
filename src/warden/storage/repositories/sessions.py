"""Browser sessions and the access-token denylist."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import Session
from warden.storage.models import DenylistRow, SessionRow

__all__ = ["SqlDenylist", "SqlSessionStore"]


class SqlSessionStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, session: Session) -> None:
        self._s.add(
            SessionRow(
                session_hash=session.session_hash,
                user_id=session.user_id,
                auth_time=session.auth_time,
                expires_at=session.expires_at,
            )
        )
        await self._s.flush()

    async def get(self, session_hash: str) -> Session | None:
        row = await self._s.get(SessionRow, session_hash)
        if row is None:
            return None
        return Session(row.session_hash, row.user_id, row.auth_time, row.expires_at)

    async def delete(self, session_hash: str) -> None:
        await self._s.execute(delete(SessionRow).where(SessionRow.session_hash == session_hash))

    async def purge(self, before: float) -> int:
        result = await self._s.execute(
            delete(SessionRow)
            .where(SessionRow.expires_at < before)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlDenylist:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, jti: str, expires_at: float) -> None:
        if await self._s.get(DenylistRow, jti) is None:
            self._s.add(DenylistRow(jti=jti, expires_at=expires_at))
            await self._s.flush()

    async def claim(self, jti: str, expires_at: float) -> bool:
        dialect = self._s.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        result = await self._s.execute(
            insert(DenylistRow)
            .values(jti=jti, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[DenylistRow.jti])
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    async def contains(self, jti: str) -> bool:
        return (
            await self._s.scalar(select(DenylistRow.jti).where(DenylistRow.jti == jti)) is not None
        )

    async def purge(self, before: float) -> int:
        result = await self._s.execute(
            delete(DenylistRow)
            .where(DenylistRow.expires_at < before)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
