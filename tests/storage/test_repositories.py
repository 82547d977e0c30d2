"""Contract tests for every storage port (warden.oauth.ports), on SQLite and on PostgreSQL.

Each test opens its own units of work, the way a request does, so what is asserted is what
a later request would see after commit.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from tests.storage.records import NOW, in_uow, make_code, make_grant, make_refresh, race

from warden.errors import InvalidGrantError
from warden.oauth.model import (
    AuditEvent,
    AuthorizationCode,
    Client,
    Consent,
    Resource,
    Session,
    StoredKey,
    User,
)
from warden.storage.engine import Database
from warden.storage.models import AuditRow
from warden.storage.repositories import SqlStores


def _client(client_id: str = "c1", **overrides: object) -> Client:
    values: dict[str, object] = {
        "client_id": client_id,
        "origin": "dynamic",
        "kind": "agent",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ("http://127.0.0.1/cb",),
        "grant_types": ("authorization_code", "refresh_token"),
        "metadata": {"client_name": "Agent", "software_id": "s1"},
        "created_at": NOW,
    }
    values.update(overrides)
    return Client(**values)


def _consent(**overrides: object) -> Consent:
    values: dict[str, object] = {
        "user_id": "u1",
        "client_id": "c1",
        "scopes": frozenset({"read:calendar"}),
        "resources": frozenset({"https://mcp.example/"}),
        "redirect_uri": "http://127.0.0.1/cb",
        "granted_at": NOW,
        "updated_at": NOW,
    }
    values.update(overrides)
    return Consent(**values)


# --- clients -----------------------------------------------------------------------------


async def test_client_round_trip(stores_db: Database) -> None:
    client = _client(
        scope="read:calendar",
        secret_hash="d" * 64,
        registration_token_hash="t" * 64,
        fingerprint="f" * 64,
        registered_from="203.0.113.7",
        application_type="native",
        metadata_expires_at=NOW + 300,
    )
    await in_uow(stores_db, lambda s: s.clients.add(client))
    assert await in_uow(stores_db, lambda s: s.clients.get("c1")) == client
    assert await in_uow(stores_db, lambda s: s.clients.get("nope")) is None


async def test_client_replace_and_delete(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.clients.add(_client()))
    changed = _client(redirect_uris=("https://app.example/cb",), metadata={"client_name": "B"})
    await in_uow(stores_db, lambda s: s.clients.replace(changed))
    assert await in_uow(stores_db, lambda s: s.clients.get("c1")) == changed
    assert await in_uow(stores_db, lambda s: s.clients.delete("c1")) is True
    assert await in_uow(stores_db, lambda s: s.clients.delete("c1")) is False
    assert await in_uow(stores_db, lambda s: s.clients.get("c1")) is None


async def test_client_lookups_by_digest(stores_db: Database) -> None:
    client = _client(fingerprint="f" * 64, registration_token_hash="t" * 64)
    await in_uow(stores_db, lambda s: s.clients.add(client))
    assert await in_uow(stores_db, lambda s: s.clients.find_by_fingerprint("f" * 64)) == client
    assert await in_uow(stores_db, lambda s: s.clients.find_by_fingerprint("x")) is None
    found = await in_uow(stores_db, lambda s: s.clients.find_by_registration_token("t" * 64))
    assert found == client
    assert await in_uow(stores_db, lambda s: s.clients.find_by_registration_token("x")) is None


async def test_client_count_by_origin(stores_db: Database) -> None:
    async def add(stores: SqlStores) -> None:
        await stores.clients.add(_client("d1"))
        await stores.clients.add(_client("d2"))
        await stores.clients.add(_client("s1", origin="static"))

    await in_uow(stores_db, add)
    assert await in_uow(stores_db, lambda s: s.clients.count("dynamic")) == 2
    assert await in_uow(stores_db, lambda s: s.clients.count("static")) == 1
    assert await in_uow(stores_db, lambda s: s.clients.count("cimd")) == 0


async def test_client_touch_records_last_use(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.clients.add(_client()))
    await in_uow(stores_db, lambda s: s.clients.touch("c1", NOW + 5))
    client = await in_uow(stores_db, lambda s: s.clients.get("c1"))
    assert client is not None and client.last_used_at == NOW + 5


async def test_reap_deletes_only_idle_dynamic_clients(stores_db: Database) -> None:
    async def add(stores: SqlStores) -> None:
        await stores.clients.add(_client("never-used", created_at=NOW - 100))
        await stores.clients.add(_client("used-long-ago", created_at=NOW - 100))
        await stores.clients.add(_client("used-recently", created_at=NOW - 100))
        await stores.clients.add(_client("new", created_at=NOW))
        await stores.clients.add(_client("static", origin="static", created_at=NOW - 100))
        await stores.clients.touch("used-long-ago", NOW - 90)
        await stores.clients.touch("used-recently", NOW - 1)

    await in_uow(stores_db, add)
    reaped = await in_uow(stores_db, lambda s: s.clients.reap(NOW - 50))
    assert sorted(reaped) == ["never-used", "used-long-ago"]
    for client_id, exists in [
        ("never-used", False),
        ("used-long-ago", False),
        ("used-recently", True),
        ("new", True),
        ("static", True),
    ]:
        found = await in_uow(stores_db, lambda s, c=client_id: s.clients.get(c))
        assert (found is not None) is exists, client_id
    assert await in_uow(stores_db, lambda s: s.clients.reap(NOW - 50)) == []


# --- users -------------------------------------------------------------------------------


async def test_users(stores_db: Database) -> None:
    alice = User("u1", "alice", "$argon2id$v=19$m=1,t=1,p=1$x$y", NOW)
    bob = User("u2", "bob", "$argon2id$v=19$m=1,t=1,p=1$x$z", NOW)

    async def add(stores: SqlStores) -> None:
        await stores.users.add(bob)
        await stores.users.add(alice)

    await in_uow(stores_db, add)
    assert await in_uow(stores_db, lambda s: s.users.get("u1")) == alice
    assert await in_uow(stores_db, lambda s: s.users.get_by_username("bob")) == bob
    assert await in_uow(stores_db, lambda s: s.users.get_by_username("carol")) is None
    assert list(await in_uow(stores_db, lambda s: s.users.list())) == [alice, bob]
    assert await in_uow(stores_db, lambda s: s.users.remove("alice")) is True
    assert await in_uow(stores_db, lambda s: s.users.remove("alice")) is False
    assert await in_uow(stores_db, lambda s: s.users.get("u1")) is None


# --- authorization codes -----------------------------------------------------------------


async def test_code_round_trip_and_consume_once(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.codes.add(make_code()))
    assert await in_uow(stores_db, lambda s: s.codes.get("h1")) == make_code()
    assert await in_uow(stores_db, lambda s: s.codes.consume("h1", NOW + 1)) is True
    assert await in_uow(stores_db, lambda s: s.codes.consume("h1", NOW + 2)) is False
    stored = await in_uow(stores_db, lambda s: s.codes.get("h1"))
    assert stored is not None and stored.consumed_at == NOW + 1
    assert await in_uow(stores_db, lambda s: s.codes.consume("missing", NOW)) is False
    assert await in_uow(stores_db, lambda s: s.codes.get("missing")) is None


async def test_sec_20_concurrent_code_redemption_has_one_winner(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.codes.add(make_code()))
    results = await race(stores_db, lambda s: s.codes.consume("h1", NOW + 1))
    assert results.count(True) == 1


async def test_consume_seen_within_the_same_unit_of_work(stores_db: Database) -> None:
    """``get`` after ``consume`` in one transaction sees the flip (no stale identity map)."""
    await in_uow(stores_db, lambda s: s.codes.add(make_code()))

    async def consume_then_get(stores: SqlStores) -> AuthorizationCode | None:
        assert await stores.codes.get("h1") is not None
        await stores.codes.consume("h1", NOW + 1)
        return await stores.codes.get("h1")

    code = await in_uow(stores_db, consume_then_get)
    assert code is not None and code.consumed_at == NOW + 1


# --- grants and refresh tokens -----------------------------------------------------------


async def test_grant_round_trip(stores_db: Database) -> None:
    grant = make_grant(kind="token_exchange", actor_chain=({"sub": "agent-1"},), auth_time=NOW - 5)
    await in_uow(stores_db, lambda s: s.grants.add(grant))
    assert await in_uow(stores_db, lambda s: s.grants.get("g1")) == grant
    assert await in_uow(stores_db, lambda s: s.grants.get("missing")) is None


async def test_grant_revoke_keeps_the_first_time(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.grants.add(make_grant()))
    await in_uow(stores_db, lambda s: s.grants.revoke("g1", NOW + 1))
    await in_uow(stores_db, lambda s: s.grants.revoke("g1", NOW + 2))
    grant = await in_uow(stores_db, lambda s: s.grants.get("g1"))
    assert grant is not None and grant.revoked_at == NOW + 1
    assert not grant.is_active(NOW + 1)


async def test_revoke_for_client_all_users_or_one(stores_db: Database) -> None:
    async def add(stores: SqlStores) -> None:
        await stores.grants.add(make_grant("g1", user_id="u1"))
        await stores.grants.add(make_grant("g2", user_id="u2"))
        await stores.grants.add(make_grant("g3", user_id="u1", client_id="other"))
        await stores.grants.add(make_grant("g4", user_id="u2", revoked_at=NOW - 1))

    await in_uow(stores_db, add)
    assert await in_uow(stores_db, lambda s: s.grants.revoke_for_client("c1", NOW, "u1")) == ["g1"]
    assert await in_uow(stores_db, lambda s: s.grants.revoke_for_client("c1", NOW + 1)) == ["g2"]
    revoked = {
        gid: (await in_uow(stores_db, lambda s, g=gid: s.grants.get(g))).revoked_at
        for gid in ("g1", "g2", "g3", "g4")
    }
    assert revoked == {"g1": NOW, "g2": NOW + 1, "g3": None, "g4": NOW - 1}


async def test_grants_listed_per_user_in_creation_order(stores_db: Database) -> None:
    async def add(stores: SqlStores) -> None:
        await stores.grants.add(make_grant("late", created_at=NOW + 10))
        await stores.grants.add(make_grant("early", created_at=NOW))
        await stores.grants.add(make_grant("other", user_id="u2"))

    await in_uow(stores_db, add)
    grants = await in_uow(stores_db, lambda s: s.grants.list_for_user("u1"))
    assert [g.grant_id for g in grants] == ["early", "late"]


async def test_refresh_token_round_trip_and_consume_once(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.refresh_tokens.add(make_refresh()))
    assert await in_uow(stores_db, lambda s: s.refresh_tokens.get("r1")) == make_refresh()
    assert await in_uow(stores_db, lambda s: s.refresh_tokens.consume("r1", NOW + 1)) is True
    assert await in_uow(stores_db, lambda s: s.refresh_tokens.consume("r1", NOW + 2)) is False
    token = await in_uow(stores_db, lambda s: s.refresh_tokens.get("r1"))
    assert token is not None and token.consumed_at == NOW + 1
    assert await in_uow(stores_db, lambda s: s.refresh_tokens.get("missing")) is None


async def test_sec_32_concurrent_refresh_rotation_has_one_winner(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.refresh_tokens.add(make_refresh()))
    results = await race(stores_db, lambda s: s.refresh_tokens.consume("r1", NOW + 1))
    assert results.count(True) == 1


# --- consents ----------------------------------------------------------------------------


async def test_consent_put_get_and_replace(stores_db: Database) -> None:
    await in_uow(stores_db, lambda s: s.consents.put(_consent()))
    assert await in_uow(stores_db, lambda s: s.consents.get("u1", "c1")) == _consent()
    wider = _consent(
        scopes=frozenset({"read:calendar", "offline_access"}),
        resources=frozenset({"https://mcp.example/", "https://other.example/"}),
        updated_at=NOW + 5,
        last_used_at=NOW + 5,
    )
    await in_uow(stores_db, lambda s: s.consents.put(wider))
    assert await in_uow(stores_db, lambda s: s.consents.get("u1", "c1")) == wider
    assert await in_uow(stores_db, lambda s: s.consents.get("u1", "c2")) is None


async def test_consent_put_twice_in_one_unit_of_work(stores_db: Database) -> None:
    async def twice(stores: SqlStores) -> None:
        await stores.consents.put(_consent())
        await stores.consents.put(_consent(updated_at=NOW + 1))

    await in_uow(stores_db, twice)
    consent = await in_uow(stores_db, lambda s: s.consents.get("u1", "c1"))
    assert consent is not None and consent.updated_at == NOW + 1


async def test_consent_delete_list_and_delete_for_client(stores_db: Database) -> None:
    async def add(stores: SqlStores) -> None:
        await stores.consents.put(_consent(client_id="c2", granted_at=NOW + 1))
        await stores.consents.put(_consent(client_id="c1"))
        await stores.consents.put(_consent(user_id="u2", client_id="c1"))

    await in_uow(stores_db, add)
    listed = await in_uow(stores_db, lambda s: s.consents.list_for_user("u1"))
    assert [c.client_id for c in listed] == ["c1", "c2"]
    assert await in_uow(stores_db, lambda s: s.consents.delete("u1", "c2")) is True
    assert await in_uow(stores_db, lambda s: s.consents.delete("u1", "c2")) is False
    assert await in_uow(stores_db, lambda s: s.consents.delete_for_client("c1")) == 2
    assert await in_uow(stores_db, lambda s: s.consents.list_for_user("u1")) == []


# --- sessions, denylist ------------------------------------------------------------------


async def test_sessions(stores_db: Database) -> None:
    session = Session("s" * 64, "u1", NOW, NOW + 3600)
    await in_uow(stores_db, lambda s: s.sessions.add(session))
    assert await in_uow(stores_db, lambda s: s.sessions.get("s" * 64)) == session
    await in_uow(stores_db, lambda s: s.sessions.delete("s" * 64))
    assert await in_uow(stores_db, lambda s: s.sessions.get("s" * 64)) is None
    await in_uow(stores_db, lambda s: s.sessions.delete("s" * 64))  # absent: no error


async def test_denylist_add_is_idempotent(stores_db: Database) -> None:
    assert await in_uow(stores_db, lambda s: s.denylist.contains("j1")) is False
    await in_uow(stores_db, lambda s: s.denylist.add("j1", NOW + 600))
    await in_uow(stores_db, lambda s: s.denylist.add("j1", NOW + 600))
    assert await in_uow(stores_db, lambda s: s.denylist.contains("j1")) is True


async def test_denylist_claim_once(stores_db: Database) -> None:
    assert await in_uow(stores_db, lambda s: s.denylist.claim("j1", NOW + 600)) is True
    assert await in_uow(stores_db, lambda s: s.denylist.claim("j1", NOW + 600)) is False
    assert await in_uow(stores_db, lambda s: s.denylist.contains("j1")) is True


async def test_concurrent_claims_have_one_winner(stores_db: Database) -> None:
    results = await race(stores_db, lambda s: s.denylist.claim("j1", NOW + 600))
    assert results.count(True) == 1


# --- keys, resources, audit --------------------------------------------------------------


async def test_keys(stores_db: Database) -> None:
    old = StoredKey("k1", "ES256", {"kty": "EC", "kid": "k1"}, b"\x00cipher", "active", NOW)
    new = StoredKey("k2", "EdDSA", {"kty": "OKP", "kid": "k2"}, b"cipher2", "published", NOW + 1)

    async def add(stores: SqlStores) -> None:
        await stores.keys.add(new)
        await stores.keys.add(old)

    await in_uow(stores_db, add)
    assert list(await in_uow(stores_db, lambda s: s.keys.list())) == [old, new]
    retired = replace(old, state="published", retired_at=NOW + 2)
    await in_uow(stores_db, lambda s: s.keys.replace(retired))
    assert list(await in_uow(stores_db, lambda s: s.keys.list())) == [retired, new]


async def test_resources(stores_db: Database) -> None:
    mcp = Resource("https://mcp.example/", ("read:calendar",), "Calendar MCP", NOW)
    await in_uow(stores_db, lambda s: s.resources.add(mcp))
    assert await in_uow(stores_db, lambda s: s.resources.get("https://mcp.example/")) == mcp
    renamed = replace(mcp, name="Calendar")
    await in_uow(stores_db, lambda s: s.resources.add(renamed))
    assert list(await in_uow(stores_db, lambda s: s.resources.list())) == [renamed]
    assert await in_uow(stores_db, lambda s: s.resources.remove("https://mcp.example/")) is True
    assert await in_uow(stores_db, lambda s: s.resources.remove("https://mcp.example/")) is False
    assert await in_uow(stores_db, lambda s: s.resources.get("https://mcp.example/")) is None


async def test_audit_events_are_recorded(stores_db: Database) -> None:
    event = AuditEvent(
        "token.issued",
        NOW,
        client_id="c1",
        user_id="u1",
        actor_type="agent",
        grant_id="g1",
        source="203.0.113.7",
        data={"scope": "read:calendar"},
    )
    await in_uow(stores_db, lambda s: s.audit.record(event))

    async def read(stores: SqlStores) -> list[AuditRow]:
        return list(await stores.session.scalars(select(AuditRow)))

    [row] = await in_uow(stores_db, read)
    assert (row.event, row.at, row.client_id, row.actor_type) == (
        "token.issued",
        NOW,
        "c1",
        "agent",
    )
    assert row.data == {"scope": "read:calendar"}


# --- unit of work ------------------------------------------------------------------------


async def test_protocol_errors_commit_their_writes(stores_db: Database) -> None:
    """A replayed code revokes its grant *and* fails the request: both must stick."""
    await in_uow(stores_db, lambda s: s.grants.add(make_grant()))
    with pytest.raises(InvalidGrantError):
        async with stores_db.unit_of_work() as stores:
            await stores.grants.revoke("g1", NOW)
            raise InvalidGrantError()
    grant = await in_uow(stores_db, lambda s: s.grants.get("g1"))
    assert grant is not None and grant.revoked_at == NOW


async def test_unexpected_errors_roll_back(stores_db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with stores_db.unit_of_work() as stores:
            await stores.clients.add(_client())
            raise RuntimeError("boom")
    assert await in_uow(stores_db, lambda s: s.clients.get("c1")) is None
