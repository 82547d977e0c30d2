"""Fixtures for the signing-key tests: an in-memory KeyStore and a loaded key ring."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
from cryptography.fernet import Fernet

from warden.clock import FrozenClock
from warden.oauth.model import StoredKey
from warden.tokens.access_token import AccessTokenIssuer
from warden.tokens.encryption import KeyCipher
from warden.tokens.keys import KeyRing

ISSUER = "https://warden.test"


class MemoryKeyStore:
    """The KeyStore port over a dict; counts reads so tests can see reloads."""

    def __init__(self) -> None:
        self.rows: dict[str, StoredKey] = {}
        self.reads = 0

    async def list(self) -> Sequence[StoredKey]:
        self.reads += 1
        return sorted(self.rows.values(), key=lambda k: k.created_at)

    async def add(self, key: StoredKey) -> None:
        assert key.kid not in self.rows
        self.rows[key.kid] = key

    async def replace(self, key: StoredKey) -> None:
        self.rows[key.kid] = dataclasses.replace(key)


@pytest.fixture
def cipher() -> KeyCipher:
    return KeyCipher(Fernet.generate_key())


@pytest.fixture
def store() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
async def ring(cipher: KeyCipher, clock: FrozenClock, store: MemoryKeyStore) -> KeyRing:
    ring = KeyRing(cipher, clock, "ES256")
    await ring.load(store)
    return ring


@pytest.fixture
def issuer(ring: KeyRing, clock: FrozenClock) -> AccessTokenIssuer:
    return AccessTokenIssuer(ring, ISSUER, clock)
