"""Clients (RFC 7591 registrations, CIMD cache entries, static clients)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import Client
from warden.storage.models import ClientRow

__all__ = ["SqlClientStore"]


def _to_row(client: Client) -> ClientRow:
    return ClientRow(
        client_id=client.client_id,
        origin=client.origin,
        kind=client.kind,
        token_endpoint_auth_method=client.token_endpoint_auth_method,
        redirect_uris=list(client.redirect_uris),
        grant_types=list(client.grant_types),
        response_types=list(client.response_types),
        application_type=client.application_type,
        scope=client.scope,
        client_metadata=dict(client.metadata),
        secret_hash=client.secret_hash,
        secret_expires_at=client.secret_expires_at,
        registration_token_hash=client.registration_token_hash,
        fingerprint=client.fingerprint,
        registered_from=client.registered_from,
        created_at=client.created_at,
        last_used_at=client.last_used_at,
        metadata_expires_at=client.metadata_expires_at,
    )


def _from_row(row: ClientRow) -> Client:
    return Client(
        client_id=row.client_id,
        origin=row.origin,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        redirect_uris=tuple(row.redirect_uris),
        grant_types=tuple(row.grant_types),
        response_types=tuple(row.response_types),
        application_type=row.application_type,
        scope=row.scope,
        metadata=dict(row.client_metadata),
        secret_hash=row.secret_hash,
        secret_expires_at=row.secret_expires_at,
        registration_token_hash=row.registration_token_hash,
        fingerprint=row.fingerprint,
        registered_from=row.registered_from,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        metadata_expires_at=row.metadata_expires_at,
    )


class SqlClientStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, client_id: str) -> Client | None:
        row = await self._s.get(ClientRow, client_id)
        return _from_row(row) if row else None

    async def add(self, client: Client) -> None:
        self._s.add(_to_row(client))
        await self._s.flush()

    async def replace(self, client: Client) -> None:
        await self._s.merge(_to_row(client))
        await self._s.flush()

    async def delete(self, client_id: str) -> bool:
        result = await self._s.execute(delete(ClientRow).where(ClientRow.client_id == client_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def find_by_fingerprint(self, fingerprint: str) -> Client | None:
        row = await self._s.scalar(
            select(ClientRow).where(ClientRow.fingerprint == fingerprint).limit(1)
        )
        return _from_row(row) if row else None

    async def find_by_registration_token(self, token_hash: str) -> Client | None:
        row = await self._s.scalar(
            select(ClientRow).where(ClientRow.registration_token_hash == token_hash).limit(1)
        )
        return _from_row(row) if row else None

    async def list_all(self) -> Sequence[Client]:
        rows = await self._s.scalars(select(ClientRow).order_by(ClientRow.created_at))
        return [_from_row(r) for r in rows]

    async def count(self, origin: str) -> int:
        stmt = select(func.count()).select_from(ClientRow).where(ClientRow.origin == origin)
        return int(await self._s.scalar(stmt) or 0)

    async def touch(self, client_id: str, at: float) -> None:
        await self._s.execute(
            update(ClientRow).where(ClientRow.client_id == client_id).values(last_used_at=at)
        )

    async def reap(self, idle_before: float) -> list[str]:
        last_seen = func.coalesce(ClientRow.last_used_at, ClientRow.created_at)
        stmt = select(ClientRow.client_id).where(
            ClientRow.origin == "dynamic", last_seen < idle_before
        )
        ids = list((await self._s.scalars(stmt)).all())
        if ids:
            await self._s.execute(delete(ClientRow).where(ClientRow.client_id.in_(ids)))
        return ids
