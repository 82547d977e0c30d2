"""KeyRing: generation, rotation with overlap, retirement, JWKS and reloading."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
from cryptography.fernet import Fernet
from joserfc.jwk import ECKey, OKPKey, import_key

from warden.clock import FrozenClock
from warden.errors import ConfigurationError
from warden.tokens.encryption import KeyCipher
from warden.tokens.keys import KeyRing, KeyRingError

if TYPE_CHECKING:  # the fixture's class, for readers; pytest provides the instance
    from conftest import MemoryKeyStore


async def test_load_creates_one_active_es256_key_on_first_start(
    ring: KeyRing, store: MemoryKeyStore
) -> None:
    [stored] = store.rows.values()
    assert stored.state == "active"
    assert stored.alg == "ES256"
    signing = ring.signing_key()
    assert signing.kid == stored.kid
    assert isinstance(signing.key, ECKey)
    assert signing.key.curve_name == "P-256"


async def test_kid_is_the_rfc7638_thumbprint(ring: KeyRing) -> None:
    signing = ring.signing_key()
    assert signing.kid == import_key(ring.jwks()["keys"][0]).thumbprint()


async def test_load_reuses_the_stored_active_key(
    ring: KeyRing, cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    other = KeyRing(cipher, clock, "ES256")
    await other.load(store)
    assert len(store.rows) == 1
    assert other.signing_key().kid == ring.signing_key().kid


async def test_eddsa_keys_are_ed25519(ring: KeyRing, store: MemoryKeyStore) -> None:
    stored = await ring.rotate(store, "EdDSA")
    signing = ring.signing_key()
    assert signing.kid == stored.kid
    assert signing.alg == "EdDSA"
    assert isinstance(signing.key, OKPKey)
    assert signing.key.curve_name == "Ed25519"


async def test_default_alg_comes_from_the_constructor(
    cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    ring = KeyRing(cipher, clock, "EdDSA")
    await ring.load(store)
    assert ring.signing_key().alg == "EdDSA"


@pytest.mark.parametrize("alg", ["RS256", "HS256", "none", "es256", "Ed25519"])
async def test_only_es256_and_eddsa_are_accepted(
    alg: str, ring: KeyRing, cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    with pytest.raises(KeyRingError):
        KeyRing(cipher, clock, alg)
    with pytest.raises(KeyRingError):
        await ring.rotate(store, alg)


async def test_sec_110_private_key_is_encrypted_at_rest(
    ring: KeyRing, store: MemoryKeyStore
) -> None:
    [stored] = store.rows.values()
    private_d = ring.signing_key().key.as_dict(private=True)["d"]
    assert "d" not in stored.public_jwk
    assert private_d.encode() not in stored.encrypted_private_jwk
    assert b'"d"' not in stored.encrypted_private_jwk


async def test_a_wrong_master_secret_is_a_configuration_error(
    ring: KeyRing, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    stranger = KeyRing(KeyCipher(Fernet.generate_key()), clock, "ES256")
    with pytest.raises(ConfigurationError, match="WARDEN_SECRET_KEY"):
        await stranger.load(store)


async def test_rotate_with_a_wrong_master_secret_writes_nothing(
    ring: KeyRing, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    before = dict(store.rows)
    stranger = KeyRing(KeyCipher(Fernet.generate_key()), clock, "ES256")
    with pytest.raises(ConfigurationError):
        await stranger.rotate(store)
    assert store.rows == before


async def test_an_older_fernet_key_still_decrypts(
    clock: FrozenClock, store: MemoryKeyStore
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    first = KeyRing(KeyCipher(old), clock, "ES256")
    await first.load(store)
    second = KeyRing(KeyCipher(new, old), clock, "ES256")
    await second.load(store)
    assert second.signing_key().kid == first.signing_key().kid


async def test_sec_110_jwks_entries_carry_alg_and_use_and_nothing_private(
    ring: KeyRing, store: MemoryKeyStore
) -> None:
    await ring.rotate(store, "EdDSA")
    keys = ring.jwks()["keys"]
    assert len(keys) == 2
    for jwk in keys:
        assert jwk["use"] == "sig"
        assert jwk["alg"] in ("ES256", "EdDSA")
        assert jwk["kid"]
        assert "d" not in jwk


async def test_rotate_publishes_the_previous_key(ring: KeyRing, store: MemoryKeyStore) -> None:
    old = ring.signing_key().kid
    new = await ring.rotate(store)
    assert new.kid != old
    assert ring.signing_key().kid == new.kid
    assert store.rows[old].state == "published"
    assert store.rows[new.kid].state == "active"
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid, old]
    assert ring.verification_key(old) is not None


async def test_rotated_keys_never_reuse_a_kid(ring: KeyRing, store: MemoryKeyStore) -> None:
    for alg in ("ES256", "EdDSA", "ES256", "EdDSA"):
        await ring.rotate(store, alg)
    assert len({k.kid for k in ring.keys}) == 5


async def test_retire_drops_the_key_from_jwks_and_verification(
    ring: KeyRing, store: MemoryKeyStore
) -> None:
    old = ring.signing_key().kid
    await ring.rotate(store)
    await ring.retire(store, old)
    assert old not in [k["kid"] for k in ring.jwks()["keys"]]
    assert ring.verification_key(old) is None
    assert store.rows[old].state == "retired"
    assert store.rows[old].encrypted_private_jwk == b""


async def test_retire_refuses_the_active_key(ring: KeyRing, store: MemoryKeyStore) -> None:
    with pytest.raises(KeyRingError, match="active key"):
        await ring.retire(store, ring.signing_key().kid)


async def test_retire_refuses_an_unknown_kid(ring: KeyRing, store: MemoryKeyStore) -> None:
    with pytest.raises(KeyRingError, match="no signing key"):
        await ring.retire(store, "nope")


async def test_retiring_twice_is_harmless(ring: KeyRing, store: MemoryKeyStore) -> None:
    old = ring.signing_key().kid
    await ring.rotate(store)
    await ring.retire(store, old)
    await ring.retire(store, old)
    assert store.rows[old].state == "retired"


async def test_sec_110_retire_waits_for_the_overlap(
    ring: KeyRing, store: MemoryKeyStore, clock: FrozenClock
) -> None:
    old = ring.signing_key().kid
    clock.advance(3600)
    await ring.rotate(store)
    clock.advance(599)
    with pytest.raises(KeyRingError, match="live tokens"):
        await ring.retire(store, old, overlap_seconds=600)
    clock.advance(1)
    await ring.retire(store, old, overlap_seconds=600)
    assert store.rows[old].state == "retired"


async def test_racing_first_starts_converge_on_one_signer(
    cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    # Two workers found no key and each stored one before seeing the other's.
    a, b = KeyRing(cipher, clock, "ES256"), KeyRing(cipher, clock, "ES256")
    await a.load(store)
    [first] = store.rows.values()
    second = dataclasses.replace(
        a._generate("ES256"), created_at=first.created_at, activated_at=first.activated_at
    )
    await store.add(second)
    await a.load(store)
    await b.load(store)
    assert a.signing_key().kid == b.signing_key().kid
    assert sorted(k.state for k in store.rows.values()) == ["active", "published"]
    assert {k["kid"] for k in a.jwks()["keys"]} == {first.kid, second.kid}


async def test_a_tampered_row_is_refused(
    ring: KeyRing, cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    [stored] = store.rows.values()
    store.rows[stored.kid] = dataclasses.replace(stored, alg="EdDSA")
    with pytest.raises(KeyRingError, match="does not match"):
        await KeyRing(cipher, clock, "ES256").load(store)


async def test_unloaded_ring_has_no_signing_key(cipher: KeyCipher, clock: FrozenClock) -> None:
    ring = KeyRing(cipher, clock, "ES256")
    assert ring.verification_key("x") is None
    with pytest.raises(KeyRingError, match="not loaded"):
        ring.signing_key()


async def test_refresh_picks_up_a_rotation_from_another_process(
    ring: KeyRing, cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    cli = KeyRing(cipher, clock, "ES256")
    new = await cli.rotate(store)
    assert not await ring.refresh_if_stale(store, 30)
    assert ring.signing_key().kid != new.kid
    clock.advance(30)
    assert await ring.refresh_if_stale(store, 30)
    assert ring.signing_key().kid == new.kid


async def test_sec_81_unknown_kid_reloads_at_most_once_per_interval(
    ring: KeyRing, cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore
) -> None:
    new = await KeyRing(cipher, clock, "ES256").rotate(store)
    reads = store.reads
    assert await ring.refresh_if_stale(store, 60, kid=new.kid)
    assert ring.verification_key(new.kid) is not None
    results = [await ring.refresh_if_stale(store, 60, kid=f"random-{i}") for i in range(100)]
    assert not any(results)
    assert store.reads == reads + 1
    clock.advance(60)
    assert await ring.refresh_if_stale(store, 60, kid="random-again")
