"""private_key_jwt assertions (RFC 7523 §3): keys, jwks_uri caching, claims, replay."""

from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey

from warden.clock import FrozenClock
from warden.oauth.client_assertion import (
    ClientKeys,
    unverified_issuer,
    verify_client_assertion,
)
from warden.oauth.model import Client

AUD = "https://warden.test/token"


@dataclass
class Document:
    body: Any
    max_age_seconds: int | None = None


class Fetcher:
    def __init__(self, *bodies: Any) -> None:
        self.bodies = list(bodies)
        self.urls: list[str] = []

    async def get_json(self, url: str) -> Document:
        self.urls.append(url)
        body = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        if isinstance(body, Exception):
            raise body
        return Document(body)


class Replay:
    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    async def claim(self, jti: str, expires_at: float) -> bool:
        if jti in self.seen:
            return False
        self.seen[jti] = expires_at
        return True


def client(**metadata: Any) -> Client:
    return Client(
        client_id="agent_1",
        origin="dynamic",
        kind="agent",
        token_endpoint_auth_method="private_key_jwt",
        redirect_uris=(),
        grant_types=("client_credentials",),
        metadata=metadata,
    )


def sign(
    key: Any, clock: FrozenClock, alg: str = "ES256", kid: str | None = "k1", **claims: Any
) -> str:
    now = int(clock.now())
    payload = {"iss": "agent_1", "sub": "agent_1", "aud": AUD, "exp": now + 60, "jti": "j1"}
    payload.update(claims)
    header = {"alg": alg, **({"kid": kid} if kid else {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # joserfc flags the name "EdDSA"
        return jwt.encode(header, payload, key, algorithms=[alg])


def jwks(*keys: Any) -> dict[str, Any]:
    return {"keys": [k.as_dict(private=False) for k in keys]}


async def verify(
    value: str, who: Client, keys: ClientKeys, clock: FrozenClock, replay: Any = None
) -> bool:
    return await verify_client_assertion(
        value, who, keys=keys, audiences={AUD}, clock=clock, replay=replay or Replay()
    )


async def test_inline_jwks_and_eddsa() -> None:
    clock = FrozenClock()
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "k1"})
    keys = ClientKeys(Fetcher({}), clock)
    assert await verify(sign(key, clock, alg="EdDSA"), client(jwks=jwks(key)), keys, clock)


async def test_jwks_uri_is_fetched_once_and_cached() -> None:
    clock = FrozenClock()
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    fetcher = Fetcher(jwks(key))
    keys = ClientKeys(fetcher, clock)
    who = client(jwks_uri="https://agent.example/jwks.json")
    replay = Replay()
    assert await verify(sign(key, clock, jti="a"), who, keys, clock, replay)
    assert await verify(sign(key, clock, jti="b"), who, keys, clock, replay)
    assert fetcher.urls == ["https://agent.example/jwks.json"]
    clock.advance(301)
    assert await verify(sign(key, clock, jti="c"), who, keys, clock, replay)
    assert len(fetcher.urls) == 2


async def test_unknown_kid_refetches_once_for_rotated_keys() -> None:
    clock = FrozenClock()
    old = ECKey.generate_key("P-256", parameters={"kid": "old"})
    new = ECKey.generate_key("P-256", parameters={"kid": "new"})
    fetcher = Fetcher(jwks(old), jwks(old, new))
    keys = ClientKeys(fetcher, clock)
    who = client(jwks_uri="https://agent.example/jwks.json")
    assert await verify(sign(old, clock, kid="old", jti="a"), who, keys, clock)
    assert await verify(sign(new, clock, kid="new", jti="b"), who, keys, clock)
    assert len(fetcher.urls) == 2


async def test_fetch_failure_and_private_keys_are_refused() -> None:
    clock = FrozenClock()
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    failing = ClientKeys(Fetcher(RuntimeError("the document could not be fetched")), clock)
    who = client(jwks_uri="https://agent.example/jwks.json")
    assert not await verify(sign(key, clock), who, failing, clock)
    private = {"keys": [key.as_dict(private=True)]}
    assert not await verify(sign(key, clock), client(jwks=private), failing, clock)


async def test_kidless_assertion_needs_a_single_key_set() -> None:
    clock = FrozenClock()
    one = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    two = ECKey.generate_key("P-256", parameters={"kid": "k2"})
    keys = ClientKeys(Fetcher({}), clock)
    assert await verify(sign(one, clock, kid=None), client(jwks=jwks(one)), keys, clock)
    assert not await verify(sign(one, clock, kid=None), client(jwks=jwks(one, two)), keys, clock)


async def test_key_type_must_match_the_algorithm() -> None:
    clock = FrozenClock()
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    value = sign(key, clock)
    _, rest = value.split(".", 1)
    forged = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"k1"}').rstrip(b"=").decode()
    keys = ClientKeys(Fetcher({}), clock)
    assert not await verify(f"{forged}.{rest}", client(jwks=jwks(key)), keys, clock)


async def test_replayed_jti_is_refused_but_forgeries_do_not_burn_it() -> None:
    clock = FrozenClock()
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    keys = ClientKeys(Fetcher({}), clock)
    who = client(jwks=jwks(key))
    replay = Replay()
    assert not await verify(sign(stranger, clock, jti="x"), who, keys, clock, replay)
    assert await verify(sign(key, clock, jti="x"), who, keys, clock, replay)
    assert not await verify(sign(key, clock, jti="x"), who, keys, clock, replay)
    ((entry, expires_at),) = replay.seen.items()
    assert "x" not in entry and len(entry) == 64
    assert expires_at == clock.now() + 60


@pytest.mark.parametrize(
    "claims",
    [{"aud": ["https://a.example", AUD]}, {"iat": 1_800_000_010, "nbf": 1_799_999_000}],
)
async def test_acceptable_variants(claims: dict[str, Any]) -> None:
    clock = FrozenClock()
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    keys = ClientKeys(Fetcher({}), clock)
    assert await verify(sign(key, clock, **claims), client(jwks=jwks(key)), keys, clock)


def test_unverified_issuer_reads_sub_only_when_present() -> None:
    clock = FrozenClock()
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    assert unverified_issuer(sign(key, clock)) == "agent_1"
    assert unverified_issuer("x.y.z") is None
    assert unverified_issuer(sign(key, clock, sub=7)) is None
