"""Contract tests for the device authorization store, on SQLite and on PostgreSQL.

Every state change is a compare-and-set (SEC-93): of concurrent decisions, consumptions and
polls, exactly one caller wins, in separate units of work as separate requests would be.
"""

from __future__ import annotations

from dataclasses import replace

from tests.storage.records import NOW, in_uow, race

from warden.oauth.model import DeviceAuthorization, User
from warden.storage.engine import Database
from warden.storage.repositories import SqlStores


def _device(device_code_hash: str = "d1", user_code_hash: str = "u1") -> DeviceAuthorization:
    return DeviceAuthorization(
        device_code_hash=device_code_hash,
        user_code_hash=user_code_hash,
        client_id="c1",
        scope="read:calendar",
        resources=("https://mcp.example/",),
        created_at=NOW,
        expires_at=NOW + 600,
        interval=5,
    )


async def _approve(stores: SqlStores, at: float = NOW + 10) -> bool:
    return await stores.devices.decide(
        "u1", "approved", user_id="usr_1", at=at, auth_time=NOW + 5, grant_id="g1"
    )


async def test_round_trip_by_either_code(stores_db: Database) -> None:
    assert await in_uow(stores_db, lambda s: s.devices.add(_device())) is True
    by_device = await in_uow(stores_db, lambda s: s.devices.get("d1"))
    by_user = await in_uow(stores_db, lambda s: s.devices.find_by_user_code("u1"))
    assert by_device == by_user == _device()
    assert await in_uow(stores_db, lambda s: s.devices.get("u1")) is None
    assert await in_uow(stores_db, lambda s: s.devices.find_by_user_code("d1")) is None


async def test_a_taken_user_code_is_refused_and_the_unit_of_work_goes_on(
    stores_db: Database,
) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))

    async def collide_then_retry(stores: SqlStores) -> tuple[bool, bool]:
        taken = await stores.devices.add(_device("d2", "u1"))
        fresh = await stores.devices.add(_device("d2", "u2"))
        await stores.users.add(User("usr_1", "alice", "-"))
        return taken, fresh

    assert await in_uow(stores_db, collide_then_retry) == (False, True)
    assert await in_uow(stores_db, lambda s: s.devices.get("d2")) == _device("d2", "u2")
    assert await in_uow(stores_db, lambda s: s.users.get("usr_1")) is not None


async def test_approval_records_the_approver(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))
    assert await in_uow(stores_db, _approve) is True
    stored = await in_uow(stores_db, lambda s: s.devices.get("d1"))
    assert stored == replace(
        _device(), status="approved", user_id="usr_1", auth_time=NOW + 5, grant_id="g1"
    )
    # Decided once: neither a second approval nor a denial changes it.
    assert await in_uow(stores_db, _approve) is False
    deny = await in_uow(
        stores_db, lambda s: s.devices.decide("u1", "denied", user_id="usr_2", at=NOW + 11)
    )
    assert deny is False
    assert await in_uow(stores_db, lambda s: s.devices.get("d1")) == stored


async def test_an_expired_authorization_cannot_be_decided(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))
    assert await in_uow(stores_db, lambda s: _approve(s, at=NOW + 600)) is False
    stored = await in_uow(stores_db, lambda s: s.devices.get("d1"))
    assert stored is not None and stored.status == "pending"


async def test_sec_93_concurrent_decisions_have_one_winner(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))
    assert (await race(stores_db, _approve)).count(True) == 1


async def test_only_an_approved_authorization_is_consumed_and_only_once(
    stores_db: Database,
) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))
    assert await in_uow(stores_db, lambda s: s.devices.consume("d1", NOW + 1)) is False
    await in_uow(stores_db, _approve)
    results = await race(stores_db, lambda s: s.devices.consume("d1", NOW + 20))
    assert results.count(True) == 1
    stored = await in_uow(stores_db, lambda s: s.devices.get("d1"))
    assert stored is not None and stored.status == "consumed"


async def test_polls_faster_than_the_interval_slow_down_for_good(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))

    async def poll_at(at: float) -> bool:
        return await in_uow(stores_db, lambda s: s.devices.poll("d1", at, slow_down_by=5))

    assert await poll_at(NOW) is True
    assert await poll_at(NOW + 5) is True
    assert await poll_at(NOW + 9) is False  # too soon: the interval becomes 10 s
    stored = await in_uow(stores_db, lambda s: s.devices.get("d1"))
    assert stored is not None and (stored.interval, stored.last_polled_at) == (10, NOW + 9)
    assert await poll_at(NOW + 18) is False  # 9 s later, but 10 s are needed now: 15 s
    assert await poll_at(NOW + 33) is True


async def test_concurrent_polls_are_on_time_once(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))
    results = await race(stores_db, lambda s: s.devices.poll("d1", NOW, slow_down_by=5))
    assert results.count(True) == 1


async def test_purge_removes_only_long_expired_authorizations(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.devices.add(_device()))
    await in_uow(stores_db, lambda s: s.devices.add(replace(_device("d2", "u2"), expires_at=NOW)))
    assert await in_uow(stores_db, lambda s: s.devices.purge(NOW + 1)) == 1
    assert await in_uow(stores_db, lambda s: s.devices.get("d2")) is None
    assert await in_uow(stores_db, lambda s: s.devices.get("d1")) is not None
