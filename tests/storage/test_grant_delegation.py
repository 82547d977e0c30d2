"""Grants delegated by token exchange die with the grant they came from (SQLite and PostgreSQL)."""

from __future__ import annotations

from warden.oauth.model import Grant
from warden.oauth.ports import Stores
from warden.storage.engine import Database

NOW = 1_800_000_000.0


def _grant(grant_id: str, parent: str | None = None, **overrides: object) -> Grant:
    values: dict[str, object] = {
        "grant_id": grant_id,
        "client_id": "agent_1" if parent is None else f"rs_{grant_id}",
        "user_id": "usr_alice",
        "scope": "read:calendar",
        "resources": ("https://rs.example/",),
        "created_at": NOW,
        "expires_at": NOW + 3600,
        "kind": "authorization_code" if parent is None else "token_exchange",
        "actor_chain": () if parent is None else ({"sub": f"rs_{grant_id}"}, {"sub": "agent_1"}),
        "parent_grant_id": parent,
    }
    values.update(overrides)
    return Grant(**values)


async def _add(db: Database, *grants: Grant) -> None:
    async with db.unit_of_work() as stores:
        for grant in grants:
            await stores.grants.add(grant)


async def _revoked_at(db: Database, *ids: str) -> dict[str, float | None]:
    async with db.unit_of_work() as stores:
        return {gid: await _revoked(stores, gid) for gid in ids}


async def _revoked(stores: Stores, grant_id: str) -> float | None:
    grant = await stores.grants.get(grant_id)
    assert grant is not None
    return grant.revoked_at


async def test_parent_round_trips(stores_db: Database) -> None:
    child = _grant("child", parent="root")
    await _add(stores_db, _grant("root"), child)
    async with stores_db.unit_of_work() as stores:
        assert await stores.grants.get("child") == child


async def test_revoking_a_grant_revokes_its_delegations_transitively(stores_db: Database) -> None:
    await _add(
        stores_db,
        _grant("root"),
        _grant("hop_1", parent="root"),
        _grant("hop_2", parent="hop_1"),
        _grant("sibling", parent="root"),
        _grant("unrelated"),
    )
    async with stores_db.unit_of_work() as stores:
        await stores.grants.revoke("root", NOW + 1)
    revoked = await _revoked_at(stores_db, "root", "hop_1", "hop_2", "sibling", "unrelated")
    assert revoked == {
        "root": NOW + 1,
        "hop_1": NOW + 1,
        "hop_2": NOW + 1,
        "sibling": NOW + 1,
        "unrelated": None,
    }


async def test_revoking_a_delegation_leaves_its_parent(stores_db: Database) -> None:
    await _add(stores_db, _grant("root"), _grant("hop_1", parent="root"))
    async with stores_db.unit_of_work() as stores:
        await stores.grants.revoke("hop_1", NOW + 1)
    assert await _revoked_at(stores_db, "root", "hop_1") == {"root": None, "hop_1": NOW + 1}


async def test_revoke_for_client_takes_the_delegations_along(stores_db: Database) -> None:
    await _add(stores_db, _grant("root"), _grant("hop_1", parent="root"))
    async with stores_db.unit_of_work() as stores:
        assert await stores.grants.revoke_for_client("agent_1", NOW + 1, "usr_alice") == ["root"]
    assert await _revoked_at(stores_db, "root", "hop_1") == {"root": NOW + 1, "hop_1": NOW + 1}


async def test_an_earlier_revocation_time_is_kept(stores_db: Database) -> None:
    await _add(stores_db, _grant("root"), _grant("hop_1", parent="root", revoked_at=NOW - 5))
    async with stores_db.unit_of_work() as stores:
        await stores.grants.revoke("root", NOW + 1)
    assert await _revoked_at(stores_db, "root", "hop_1") == {"root": NOW + 1, "hop_1": NOW - 5}
