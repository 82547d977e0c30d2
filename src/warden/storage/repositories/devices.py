"""Device authorizations (RFC 8628): every state change is one compare-and-set (SEC-93)."""

from __future__ import annotations

from typing import Any, Literal, cast, get_args

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from warden.errors import StorageError
from warden.oauth.model import DeviceAuthorization, DeviceStatus
from warden.storage.models import DeviceAuthorizationRow

__all__ = ["SqlDeviceAuthorizationStore"]

_Row = DeviceAuthorizationRow
_STATUSES: frozenset[str] = frozenset(get_args(DeviceStatus))


def _device(row: DeviceAuthorizationRow) -> DeviceAuthorization:
    if row.status not in _STATUSES:
        raise StorageError(f"unknown device authorization status {row.status!r}")
    return DeviceAuthorization(
        device_code_hash=row.device_code_hash,
        user_code_hash=row.user_code_hash,
        client_id=row.client_id,
        scope=row.scope,
        resources=tuple(row.resources),
        created_at=row.created_at,
        expires_at=row.expires_at,
        interval=row.poll_interval,
        status=cast(DeviceStatus, row.status),
        user_id=row.user_id,
        auth_time=row.auth_time,
        grant_id=row.grant_id,
        last_polled_at=row.last_polled_at,
    )


class SqlDeviceAuthorizationStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, device: DeviceAuthorization) -> bool:
        row = _Row(
            device_code_hash=device.device_code_hash,
            user_code_hash=device.user_code_hash,
            client_id=device.client_id,
            scope=device.scope,
            resources=list(device.resources),
            status=device.status,
            user_id=device.user_id,
            auth_time=device.auth_time,
            grant_id=device.grant_id,
            created_at=device.created_at,
            expires_at=device.expires_at,
            poll_interval=device.interval,
            last_polled_at=device.last_polled_at,
        )
        # A savepoint, so that a taken user code leaves the rest of the unit of work intact.
        try:
            async with self._s.begin_nested():
                self._s.add(row)
        except IntegrityError:
            return False
        return True

    async def get(self, device_code_hash: str) -> DeviceAuthorization | None:
        row = await self._s.get(_Row, device_code_hash, populate_existing=True)
        return _device(row) if row else None

    async def find_by_user_code(self, user_code_hash: str) -> DeviceAuthorization | None:
        row = await self._s.scalar(
            select(_Row)
            .where(_Row.user_code_hash == user_code_hash)
            .execution_options(populate_existing=True)
        )
        return _device(row) if row else None

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
        return await self._swap(
            (_Row.user_code_hash == user_code_hash, _Row.status == "pending", _Row.expires_at > at),
            status=status,
            user_id=user_id,
            auth_time=auth_time,
            grant_id=grant_id,
        )

    async def consume(self, device_code_hash: str, at: float) -> bool:
        return await self._swap(
            (_Row.device_code_hash == device_code_hash, _Row.status == "approved"),
            status="consumed",
        )

    async def poll(self, device_code_hash: str, at: float, *, slow_down_by: int) -> bool:
        on_time = await self._swap(
            (
                _Row.device_code_hash == device_code_hash,
                (_Row.last_polled_at.is_(None)) | (_Row.last_polled_at + _Row.poll_interval <= at),
            ),
            last_polled_at=at,
        )
        if not on_time:
            await self._swap(
                (_Row.device_code_hash == device_code_hash,),
                last_polled_at=at,
                poll_interval=_Row.poll_interval + slow_down_by,
            )
        return on_time

    async def purge(self, expired_before: float) -> int:
        result = await self._s.execute(
            delete(_Row)
            .where(_Row.expires_at < expired_before)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _swap(self, where: tuple[Any, ...], **values: Any) -> bool:
        """``UPDATE … WHERE <where>``: True if exactly this caller changed the row."""
        result = await self._s.execute(
            update(_Row).where(*where).values(**values).execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]
