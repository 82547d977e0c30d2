"""Signing keys: generation, rotation with overlap, retirement, and the public JWKS.

A key has one algorithm (RFC 8725 §3.1) and lives through three states:

- ``active``: signs new access tokens; exactly one at a time.
- ``published``: a former active key. It no longer signs, but stays in the JWKS and keeps
  verifying, so tokens it signed live out their lifetime (SEC-110, RFC 7517 §5).
- ``retired``: gone from the JWKS, verifies nothing, and its encrypted private half is erased.

``kid`` is the RFC 7638 JWK thumbprint, so a new key can never reuse an old ``kid``: resource
servers cache keys by ``kid`` and a reused one would break verification until they restart.
Private JWKs are stored encrypted (:mod:`warden.tokens.encryption`). Only the active key's
private half is ever decrypted into memory.

Each worker of a multi-process server holds its own :class:`KeyRing`; ``refresh_if_stale``
makes a rotation done by ``warden keys rotate`` in another process reach it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from joserfc.jwk import ECKey, Key, KeyParameters, OKPKey, import_key

from warden.clock import Clock
from warden.errors import WardenError
from warden.oauth.model import StoredKey
from warden.oauth.ports import KeyStore
from warden.tokens.encryption import KeyCipher

__all__ = ["SUPPORTED_ALGORITHMS", "JoseKey", "KeyRing", "KeyRingError", "SigningKey"]

JoseKey = ECKey | OKPKey
"""A joserfc key of one of the types Warden signs with."""

SUPPORTED_ALGORITHMS: Final = ("ES256", "EdDSA")
"""ES256 (P-256, RFC 7518 §3.4) and EdDSA over Ed25519 (RFC 8037 §3.1).

``EdDSA`` rather than RFC 9864's fully-specified ``Ed25519``: resource-server libraries in
use today (PyJWT, jose, go-jose) know the former and not yet the latter.
"""

_Algorithm = Literal["ES256", "EdDSA"]


class KeyRingError(WardenError):
    """A key operation an administrator asked for cannot be done (unknown kid, active key)."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A key with its ``kid`` and its one algorithm, ready for joserfc."""

    kid: str
    alg: str
    key: JoseKey


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What one load of the store produced; swapped in whole so readers never see a mix."""

    stored: tuple[StoredKey, ...]
    signer: SigningKey
    verifiers: Mapping[str, SigningKey]
    jwks: Mapping[str, Any]
    loaded_at: float


class KeyRing:
    """The signing keys one process uses, loaded from a :class:`KeyStore`."""

    def __init__(self, cipher: KeyCipher, clock: Clock, default_alg: str = "ES256") -> None:
        self._cipher = cipher
        self._clock = clock
        self._default_alg = _check_alg(default_alg)
        self._snapshot: _Snapshot | None = None
        self._last_miss_reload = float("-inf")

    # -- loading ---------------------------------------------------------------------------

    async def load(self, store: KeyStore) -> None:
        """Load every key; with no active key (first start), create one and store it.

        Two workers starting at once may each create a key. Every worker then picks the same
        winner (latest activation, then ``kid``) and demotes the others to ``published``, so
        they converge and nothing either signed stops verifying.
        """
        stored = list(await store.list())
        active = [k for k in stored if k.state == "active"]
        if not active:
            new = self._generate(self._default_alg)
            await store.add(new)
            stored.append(new)
        elif len(active) > 1:
            winner = _newest(active)
            for key in active:
                if key is not winner:
                    await store.replace(dataclasses.replace(key, state="published"))
            stored = list(await store.list())
        self._install(stored)

    async def refresh_if_stale(
        self, store: KeyStore, max_age_seconds: float, *, kid: str | None = None
    ) -> bool:
        """Reload when the keys are older than ``max_age_seconds``, or when ``kid`` is unknown.

        The unknown-``kid`` reload is limited to once per ``max_age_seconds`` (SEC-81), so a
        flood of tokens with made-up ``kid`` values costs one query, not one each.
        Returns whether the keys were reloaded.
        """
        now = self._clock.now()
        stale = self._snapshot is None or now - self._snapshot.loaded_at >= max_age_seconds
        miss = kid is not None and self.verification_key(kid) is None
        if miss and not stale:
            if now - self._last_miss_reload < max_age_seconds:
                return False
            self._last_miss_reload = now
        elif not stale:
            return False
        await self.load(store)
        return True

    # -- administration --------------------------------------------------------------------

    async def rotate(self, store: KeyStore, alg: str | None = None) -> StoredKey:
        """Make a new key active; the previous active key becomes ``published``.

        The previous key keeps verifying until it is retired, which is what lets tokens it
        signed stay valid through the overlap (SEC-110).
        """
        new = self._generate(_check_alg(alg) if alg else self._default_alg)
        active = [k for k in await store.list() if k.state == "active"]
        for key in active:
            # A wrong WARDEN_SECRET_KEY fails here, before it writes a key that the servers
            # (holding the right secret) could not decrypt.
            self._cipher.decrypt(key.encrypted_private_jwk)
        for key in active:
            await store.replace(dataclasses.replace(key, state="published"))
        await store.add(new)
        self._install(await store.list())
        return new

    async def retire(self, store: KeyStore, kid: str, *, overlap_seconds: float = 0) -> None:
        """Take a key out of the JWKS and out of verification, and erase its private half.

        Refuses the active key (rotate first), and a key that stopped signing less than
        ``overlap_seconds`` ago: access tokens it signed may still be in use.
        """
        stored = list(await store.list())
        key = next((k for k in stored if k.kid == kid), None)
        if key is None:
            raise KeyRingError(f"no signing key has kid {kid!r}")
        if key.state == "retired":
            return
        if key.state == "active":
            raise KeyRingError(f"{kid} is the active key; rotate to a new key first")
        stopped = _stopped_signing_at(key, stored)
        now = self._clock.now()
        if stopped is not None and now - stopped < overlap_seconds:
            wait = int(overlap_seconds - (now - stopped)) + 1
            raise KeyRingError(f"{kid} may still have live tokens; retire it in {wait} s")
        retired = dataclasses.replace(
            key, state="retired", retired_at=now, encrypted_private_jwk=b""
        )
        await store.replace(retired)
        self._install(await store.list())

    # -- use -------------------------------------------------------------------------------

    @property
    def keys(self) -> Sequence[StoredKey]:
        """Every key as last loaded, oldest first, retired ones included."""
        return self._current().stored

    def signing_key(self) -> SigningKey:
        """The active key, private half included."""
        return self._current().signer

    def verification_key(self, kid: str) -> SigningKey | None:
        """The public key of an active or published key, by exact ``kid`` (SEC-81)."""
        snapshot = self._snapshot
        return snapshot.verifiers.get(kid) if snapshot else None

    def jwks(self) -> dict[str, Any]:
        """The JWK Set of every key that verifies (RFC 7517 §5): active first."""
        return {"keys": [dict(k) for k in self._current().jwks["keys"]]}

    # -- internals -------------------------------------------------------------------------

    def _current(self) -> _Snapshot:
        if self._snapshot is None:
            raise KeyRingError("the key ring is not loaded; call load() first")
        return self._snapshot

    def _generate(self, alg: str) -> StoredKey:
        """A fresh key pair; ``kid`` is its RFC 7638 thumbprint."""
        params: KeyParameters = {"alg": alg, "use": "sig"}
        key: JoseKey = (
            ECKey.generate_key("P-256", parameters=params)
            if alg == "ES256"
            else OKPKey.generate_key("Ed25519", parameters=params)
        )
        kid = key.thumbprint()
        now = self._clock.now()
        return StoredKey(
            kid=kid,
            alg=alg,
            public_jwk=key.as_dict(private=False, kid=kid),
            encrypted_private_jwk=self._cipher.encrypt(key.as_dict(private=True, kid=kid)),
            state="active",
            created_at=now,
            activated_at=now,
        )

    def _install(self, stored: Iterable[StoredKey]) -> None:
        keys = tuple(stored)
        live = [k for k in keys if k.state in ("active", "published")]
        active = _newest([k for k in live if k.state == "active"])
        verifiers = {k.kid: _public(k) for k in live}
        ordered = [
            active,
            *sorted((k for k in live if k is not active), key=_activation, reverse=True),
        ]
        self._snapshot = _Snapshot(
            stored=keys,
            signer=self._private(active),
            verifiers=verifiers,
            jwks={"keys": [_jwk(k) for k in ordered]},
            loaded_at=self._clock.now(),
        )

    def _private(self, stored: StoredKey) -> SigningKey:
        jwk = self._cipher.decrypt(stored.encrypted_private_jwk)
        return SigningKey(kid=stored.kid, alg=stored.alg, key=_checked(stored, import_key(jwk)))


def _public(stored: StoredKey) -> SigningKey:
    key = _checked(stored, import_key(dict(stored.public_jwk)))
    return SigningKey(kid=stored.kid, alg=stored.alg, key=key)


def _checked(stored: StoredKey, key: Key) -> JoseKey:
    """The stored key must be what its row says: thumbprint ``kid``, one declared ``alg``."""
    _check_alg(stored.alg)
    if not isinstance(key, ECKey | OKPKey):
        raise KeyRingError(f"key {stored.kid} is not an EC or OKP key")
    if key.thumbprint() != stored.kid or key.alg not in (None, stored.alg):
        raise KeyRingError(f"key {stored.kid} does not match its stored kid or alg")
    return key


def _jwk(stored: StoredKey) -> dict[str, Any]:
    """The public JWK as published: always with ``kid``, ``alg`` and ``use`` (SEC-110)."""
    return {**stored.public_jwk, "kid": stored.kid, "alg": stored.alg, "use": "sig"}


def _check_alg(alg: str) -> _Algorithm:
    if alg == "ES256":
        return "ES256"
    if alg == "EdDSA":
        return "EdDSA"
    raise KeyRingError(f"unsupported signing algorithm {alg!r}; use ES256 or EdDSA")


def _activation(key: StoredKey) -> tuple[float, str]:
    return (key.activated_at or key.created_at, key.kid)


def _newest(keys: Sequence[StoredKey]) -> StoredKey:
    if not keys:
        raise KeyRingError("no active signing key")
    return max(keys, key=_activation)


def _stopped_signing_at(key: StoredKey, stored: Sequence[StoredKey]) -> float | None:
    """When a later key took over from ``key``: the first activation after its own."""
    started = _activation(key)
    later = [_activation(k)[0] for k in stored if k.activated_at and _activation(k) > started]
    return min(later, default=None)
