"""Authorization codes, consumed by compare-and-set (SEC-20)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import AuthorizationCode
from warden.storage.models import CodeRow

__all__ = ["SqlCodeStore"]


class SqlCodeStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, code: AuthorizationCode) -> None:
        self._s.add(
            CodeRow(
                code_hash=code.code_hash,
                client_id=code.client_id,
                user_id=code.user_id,
                grant_id=code.grant_id,
                redirect_uri=code.redirect_uri,
                code_challenge=code.code_challenge,
                code_challenge_method=code.code_challenge_method,
                scope=code.scope,
                resources=list(code.resources),
                auth_time=code.auth_time,
                expires_at=code.expires_at,
                consumed_at=code.consumed_at,
            )
        )
        await self._s.flush()

    async def get(self, code_hash: str) -> AuthorizationCode | None:
        row = await self._s.get(CodeRow, code_hash, populate_existing=True)
        if row is None:
            return None
        return AuthorizationCode(
            code_hash=row.code_hash,
            client_id=row.client_id,
            user_id=row.user_id,
            grant_id=row.grant_id,
            redirect_uri=row.redirect_uri,
            code_challenge=row.code_challenge,
            code_challenge_method=row.code_challenge_method,
            scope=row.scope,
            resources=tuple(row.resources),
            auth_time=row.auth_time,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
        )

    async def consume(self, code_hash: str, at: float) -> bool:
        result = await self._s.execute(
            update(CodeRow)
            .where(CodeRow.code_hash == code_hash, CodeRow.consumed_at.is_(None))
            .values(consumed_at=at)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    async def purge(self, before: float) -> int:
        result = await self._s.execute(
            delete(CodeRow)
            .where(CodeRow.expires_at < before)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
