"""Signing keys; the private half is stored encrypted (SEC-110)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from warden.oauth.model import StoredKey
from warden.storage.models import KeyRow

__all__ = ["SqlKeyStore"]


def _to_row(key: StoredKey) -> KeyRow:
    return KeyRow(
        kid=key.kid,
        alg=key.alg,
        public_jwk=dict(key.public_jwk),
        encrypted_private_jwk=key.encrypted_private_jwk,
        state=key.state,
        created_at=key.created_at,
        activated_at=key.activated_at,
        retired_at=key.retired_at,
    )


class SqlKeyStore:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def list(self) -> Sequence[StoredKey]:
        rows = await self._s.scalars(select(KeyRow).order_by(KeyRow.created_at))
        return [
            StoredKey(
                kid=r.kid,
                alg=r.alg,
                public_jwk=dict(r.public_jwk),
                encrypted_private_jwk=r.encrypted_private_jwk,
                state=r.state,  # type: ignore[arg-type]
                created_at=r.created_at,
                activated_at=r.activated_at,
                retired_at=r.retired_at,
            )
            for r in rows
        ]

    async def add(self, key: StoredKey) -> None:
        self._s.add(_to_row(key))
        await self._s.flush()

    async def replace(self, key: StoredKey) -> None:
        await self._s.merge(_to_row(key))
        await self._s.flush()
