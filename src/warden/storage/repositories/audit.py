"""The audit trail, in the same transaction as what it records."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import AuditEvent
from warden.storage.models import AuditRow

__all__ = ["SqlAuditSink"]


class SqlAuditSink:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def record(self, event: AuditEvent) -> None:
        self._s.add(
            AuditRow(
                event=event.event,
                at=event.at,
                client_id=event.client_id,
                user_id=event.user_id,
                actor_type=event.actor_type,
                grant_id=event.grant_id,
                source=event.source,
                data=dict(event.data),
            )
        )
