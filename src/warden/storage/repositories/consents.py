"""Remembered consent, per user × client (SEC-68)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import Consent
from warden.storage.models import ConsentRow

__all__ = ["SqlConsentStore"]


def _from_row(row: ConsentRow) -> Consent:
    return Consent(
        user_id=row.user_id,
        client_id=row.client_id,
        scopes=frozenset(row.scopes),
        resources=frozenset(row.resources),
        redirect_uri=row.redirect_uri,
        granted_at=row.granted_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
    )


class SqlConsentStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, user_id: str, client_id: str) -> Consent | None:
        row = await self._s.get(ConsentRow, (user_id, client_id), populate_existing=True)
        return _from_row(row) if row else None

    async def put(self, consent: Consent) -> None:
        await self._s.merge(
            ConsentRow(
                user_id=consent.user_id,
                client_id=consent.client_id,
                scopes=sorted(consent.scopes),
                resources=sorted(consent.resources),
                redirect_uri=consent.redirect_uri,
                granted_at=consent.granted_at,
                updated_at=consent.updated_at,
                last_used_at=consent.last_used_at,
            )
        )
        await self._s.flush()

    async def delete(self, user_id: str, client_id: str) -> bool:
        result = await self._s.execute(
            delete(ConsentRow).where(
                ConsentRow.user_id == user_id, ConsentRow.client_id == client_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_for_client(self, client_id: str) -> int:
        result = await self._s.execute(delete(ConsentRow).where(ConsentRow.client_id == client_id))
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def list_for_user(self, user_id: str) -> Sequence[Consent]:
        rows = await self._s.scalars(
            select(ConsentRow).where(ConsentRow.user_id == user_id).order_by(ConsentRow.granted_at)
        )
        return [_from_row(r) for r in rows]
