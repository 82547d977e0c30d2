"""Grants (token families) and their refresh tokens (SEC-30..SEC-32).

Revoking a grant also revokes the grants delegated from it by token exchange (their
``parent_grant_id``), level by level: a person who revokes an agent also revokes what the
agent passed on (RFC 8693 delegation; the chain is at most ``exchange.max_chain_depth`` deep).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from warden.oauth.model import Grant, RefreshToken
from warden.storage.models import GrantRow, RefreshTokenRow

__all__ = ["SqlGrantStore", "SqlRefreshTokenStore"]


def _grant(row: GrantRow) -> Grant:
    return Grant(
        grant_id=row.grant_id,
        client_id=row.client_id,
        user_id=row.user_id,
        scope=row.scope,
        resources=tuple(row.resources),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        kind=row.kind,
        actor_chain=tuple(row.actor_chain),
        auth_time=row.auth_time,
        parent_grant_id=row.parent_grant_id,
    )


def _ended_before(before: float) -> ColumnElement[bool]:
    """The grant expired or was revoked before ``before``."""
    return or_(GrantRow.expires_at < before, GrantRow.revoked_at < before)


class SqlGrantStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, grant: Grant) -> None:
        self._s.add(
            GrantRow(
                grant_id=grant.grant_id,
                client_id=grant.client_id,
                user_id=grant.user_id,
                scope=grant.scope,
                resources=list(grant.resources),
                created_at=grant.created_at,
                expires_at=grant.expires_at,
                revoked_at=grant.revoked_at,
                kind=grant.kind,
                actor_chain=[dict(a) for a in grant.actor_chain],
                auth_time=grant.auth_time,
                parent_grant_id=grant.parent_grant_id,
            )
        )
        await self._s.flush()

    async def get(self, grant_id: str) -> Grant | None:
        row = await self._s.get(GrantRow, grant_id, populate_existing=True)
        return _grant(row) if row else None

    async def revoke(self, grant_id: str, at: float) -> None:
        await self._revoke_with_delegations([grant_id], at)

    async def revoke_for_client(
        self, client_id: str, at: float, user_id: str | None = None
    ) -> list[str]:
        stmt = select(GrantRow.grant_id).where(
            GrantRow.client_id == client_id, GrantRow.revoked_at.is_(None)
        )
        if user_id is not None:
            stmt = stmt.where(GrantRow.user_id == user_id)
        ids = list((await self._s.scalars(stmt)).all())
        await self._revoke_with_delegations(ids, at)
        return ids

    async def _revoke_with_delegations(self, ids: Collection[str], at: float) -> None:
        """Revoke ``ids``, then the live grants delegated from them, until none is left."""
        while ids:
            await self._s.execute(
                update(GrantRow)
                .where(GrantRow.grant_id.in_(ids), GrantRow.revoked_at.is_(None))
                .values(revoked_at=at)
                .execution_options(synchronize_session=False)
            )
            children = select(GrantRow.grant_id).where(
                GrantRow.parent_grant_id.in_(ids), GrantRow.revoked_at.is_(None)
            )
            ids = list((await self._s.scalars(children)).all())

    async def list_for_user(self, user_id: str) -> Sequence[Grant]:
        rows = await self._s.scalars(
            select(GrantRow).where(GrantRow.user_id == user_id).order_by(GrantRow.created_at)
        )
        return [_grant(r) for r in rows]

    async def purge(self, before: float) -> int:
        # A grant still named by a refresh token or a delegated grant stays: the token's
        # replay must find its family (SEC-31) and revoking it must reach its delegations.
        child = aliased(GrantRow)
        result = await self._s.execute(
            delete(GrantRow)
            .where(
                _ended_before(before),
                ~exists().where(RefreshTokenRow.grant_id == GrantRow.grant_id),
                ~exists().where(child.parent_grant_id == GrantRow.grant_id),
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlRefreshTokenStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, token: RefreshToken) -> None:
        self._s.add(
            RefreshTokenRow(
                token_hash=token.token_hash,
                grant_id=token.grant_id,
                client_id=token.client_id,
                scope=token.scope,
                resources=list(token.resources),
                issued_at=token.issued_at,
                expires_at=token.expires_at,
                consumed_at=token.consumed_at,
            )
        )
        await self._s.flush()

    async def get(self, token_hash: str) -> RefreshToken | None:
        row = await self._s.get(RefreshTokenRow, token_hash, populate_existing=True)
        if row is None:
            return None
        return RefreshToken(
            token_hash=row.token_hash,
            grant_id=row.grant_id,
            client_id=row.client_id,
            scope=row.scope,
            resources=tuple(row.resources),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
        )

    async def consume(self, token_hash: str, at: float) -> bool:
        result = await self._s.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.token_hash == token_hash, RefreshTokenRow.consumed_at.is_(None))
            .values(consumed_at=at)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined, no-any-return]

    async def purge(self, before: float) -> int:
        ended = select(GrantRow.grant_id).where(_ended_before(before))
        result = await self._s.execute(
            delete(RefreshTokenRow)
            .where(or_(RefreshTokenRow.expires_at < before, RefreshTokenRow.grant_id.in_(ended)))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
