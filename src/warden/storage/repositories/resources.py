"""Protected resources registered with Warden (RFC 8707)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import Resource
from warden.storage.models import ResourceRow

__all__ = ["SqlResourceStore"]


def _from_row(row: ResourceRow) -> Resource:
    return Resource(row.uri, tuple(row.scopes), row.name, row.created_at)


class SqlResourceStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, uri: str) -> Resource | None:
        row = await self._s.get(ResourceRow, uri)
        return _from_row(row) if row else None

    async def add(self, resource: Resource) -> None:
        await self._s.merge(
            ResourceRow(
                uri=resource.uri,
                scopes=list(resource.scopes),
                name=resource.name,
                created_at=resource.created_at,
            )
        )
        await self._s.flush()

    async def remove(self, uri: str) -> bool:
        result = await self._s.execute(delete(ResourceRow).where(ResourceRow.uri == uri))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list(self) -> Sequence[Resource]:
        return [_from_row(r) for r in await self._s.scalars(select(ResourceRow))]
