"""Contract tests for the ``purge`` methods of the storage ports, on SQLite and PostgreSQL.

Each purge deletes exactly the rows that ended before its cut-off and keeps the rest.
"""

from __future__ import annotations

from tests.storage.records import NOW, in_uow, make_code, make_grant, make_refresh

from warden.oauth.model import AuthorizationCode, Grant, RefreshToken, Session
from warden.storage.engine import Database
from warden.storage.repositories import SqlStores


def _grant(grant_id: str, *, expires_at: float, revoked_at: float | None = None) -> Grant:
    parent = "g-parent" if grant_id == "g-child" else None
    return make_grant(
        grant_id,
        created_at=NOW - 7200,
        expires_at=expires_at,
        revoked_at=revoked_at,
        parent_grant_id=parent,
    )


def _code(code_hash: str, *, expires_at: float) -> AuthorizationCode:
    return make_code(code_hash, auth_time=NOW - 7200, expires_at=expires_at, consumed_at=NOW - 7000)


def _refresh(token_hash: str, grant_id: str, *, expires_at: float) -> RefreshToken:
    return make_refresh(token_hash, grant_id=grant_id, issued_at=NOW - 7200, expires_at=expires_at)


async def _add_all(db: Database, *items: Grant | RefreshToken) -> None:
    async def add(s: SqlStores) -> None:
        for item in items:
            if isinstance(item, Grant):
                await s.grants.add(item)
            else:
                await s.refresh_tokens.add(item)

    await in_uow(db, add)


async def test_code_purge_deletes_used_and_unused_codes_expired_before(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.codes.add(_code("old", expires_at=NOW - 1)))
    await in_uow(stores_db, lambda s: s.codes.add(_code("live", expires_at=NOW + 60)))
    assert await in_uow(stores_db, lambda s: s.codes.purge(NOW)) == 1
    assert await in_uow(stores_db, lambda s: s.codes.get("old")) is None
    assert await in_uow(stores_db, lambda s: s.codes.get("live")) is not None
    assert await in_uow(stores_db, lambda s: s.codes.purge(NOW)) == 0


async def test_refresh_purge_deletes_expired_tokens_and_those_of_ended_grants(
    stores_db: Database,
) -> None:
    await _add_all(
        stores_db,
        _grant("g-live", expires_at=NOW + 3600),
        _grant("g-revoked", expires_at=NOW + 3600, revoked_at=NOW - 10),
        _grant("g-expired", expires_at=NOW - 10),
        _grant("g-revoked-later", expires_at=NOW + 3600, revoked_at=NOW + 10),
        _refresh("r-live", "g-live", expires_at=NOW + 600),
        _refresh("r-expired", "g-live", expires_at=NOW - 1),
        _refresh("r-of-revoked", "g-revoked", expires_at=NOW + 600),
        _refresh("r-of-expired", "g-expired", expires_at=NOW + 600),
        _refresh("r-revoked-later", "g-revoked-later", expires_at=NOW + 600),
    )
    assert await in_uow(stores_db, lambda s: s.refresh_tokens.purge(NOW)) == 3
    for gone in ("r-expired", "r-of-revoked", "r-of-expired"):
        assert await in_uow(stores_db, lambda s, h=gone: s.refresh_tokens.get(h)) is None
    for kept in ("r-live", "r-revoked-later"):
        assert await in_uow(stores_db, lambda s, h=kept: s.refresh_tokens.get(h)) is not None


async def test_grant_purge_keeps_live_grants_and_those_still_referred_to(
    stores_db: Database,
) -> None:
    await _add_all(
        stores_db,
        _grant("g-live", expires_at=NOW + 3600),
        _grant("g-expired", expires_at=NOW - 10),
        _grant("g-revoked", expires_at=NOW + 3600, revoked_at=NOW - 10),
        _grant("g-revoked-later", expires_at=NOW + 3600, revoked_at=NOW + 10),
        _grant("g-with-token", expires_at=NOW - 10),
        _refresh("r1", "g-with-token", expires_at=NOW + 600),
        _grant("g-parent", expires_at=NOW - 10),
        _grant("g-child", expires_at=NOW + 3600),
    )
    assert await in_uow(stores_db, lambda s: s.grants.purge(NOW)) == 2
    for gone in ("g-expired", "g-revoked"):
        assert await in_uow(stores_db, lambda s, g=gone: s.grants.get(g)) is None
    for kept in ("g-live", "g-revoked-later", "g-with-token", "g-parent", "g-child"):
        assert await in_uow(stores_db, lambda s, g=kept: s.grants.get(g)) is not None


async def test_session_purge(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.sessions.add(Session("a" * 64, "u1", NOW, NOW - 1)))
    await in_uow(stores_db, lambda s: s.sessions.add(Session("b" * 64, "u1", NOW, NOW + 60)))
    assert await in_uow(stores_db, lambda s: s.sessions.purge(NOW)) == 1
    assert await in_uow(stores_db, lambda s: s.sessions.get("a" * 64)) is None
    assert await in_uow(stores_db, lambda s: s.sessions.get("b" * 64)) is not None


async def test_denylist_purge(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.denylist.add("old", NOW - 1))
    await in_uow(stores_db, lambda s: s.denylist.add("live", NOW + 60))
    assert await in_uow(stores_db, lambda s: s.denylist.purge(NOW)) == 1
    assert await in_uow(stores_db, lambda s: s.denylist.contains("old")) is False
    assert await in_uow(stores_db, lambda s: s.denylist.contains("live")) is True
