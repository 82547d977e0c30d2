"""RFC 9068 access tokens: what Warden issues, and what its own verify() refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

import pytest
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, import_key
from joserfc.jws import JWSRegistry

from warden.clock import FrozenClock
from warden.tokens.access_token import MAX_TOKEN_BYTES, AccessTokenIssuer
from warden.tokens.keys import KeyRing, SigningKey

if TYPE_CHECKING:  # the fixture's class, for readers; pytest provides the instance
    from conftest import MemoryKeyStore

ISSUER = "https://warden.test"
RESOURCE = "https://rs.example/mcp"


def issue(issuer: AccessTokenIssuer, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "sub": "user-1",
        "client_id": "https://client.example/meta.json",
        "audience": RESOURCE,
        "scope": "notes:read notes:write",
        "ttl_seconds": 600,
        "grant_id": "grant-1",
    }
    values.update(overrides)
    return issuer.issue(**values).token


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


def forge(header: dict[str, Any], payload: bytes | dict[str, Any], key: Any, alg: str) -> str:
    """A compact JWS with any header and payload, really signed by ``key`` under ``alg``."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(body)}"
    signature = JWSRegistry.algorithms[alg].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def good_claims(clock: FrozenClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now())
    claims = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": RESOURCE,
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "jti": "j" * 22,
        "client_id": "c1",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def our_header(key: SigningKey, **changes: Any) -> dict[str, Any]:
    header = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not None}


# -- issuing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
async def test_sec_37_token_is_an_rfc9068_jwt(
    alg: str, ring: KeyRing, issuer: AccessTokenIssuer, store: MemoryKeyStore, clock: FrozenClock
) -> None:
    await ring.rotate(store, alg)
    issued = issuer.issue(
        sub="user-1",
        client_id="c1",
        audience=RESOURCE,
        scope="notes:read",
        ttl_seconds=600,
        grant_id="grant-1",
    )
    header, claims = segments(issued.token)
    assert header == {"alg": alg, "typ": "at+jwt", "kid": ring.signing_key().kid}
    assert not header["alg"].upper().startswith("HS")
    now = int(clock.now())
    assert claims == {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": RESOURCE,
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "jti": issued.jti,
        "client_id": "c1",
        "scope": "notes:read",
        "grant_id": "grant-1",
    }
    assert issued.claims == claims
    assert issued.expires_at == claims["exp"]
    assert claims["exp"] - claims["iat"] <= 3600


async def test_signature_verifies_with_the_published_key(
    ring: KeyRing, issuer: AccessTokenIssuer
) -> None:
    token = issue(issuer)
    public = import_key(ring.jwks()["keys"][0])
    verified = jws.deserialize_compact(token, public, algorithms=["ES256"])
    assert json.loads(verified.payload)["sub"] == "user-1"


def test_sec_109_jti_is_random_and_at_least_128_bits(issuer: AccessTokenIssuer) -> None:
    jtis = {issuer.issue(**_minimal()).jti for _ in range(1000)}
    assert len(jtis) == 1000
    for jti in list(jtis)[:50]:
        assert len(base64.urlsafe_b64decode(jti + "==")) >= 16


def _minimal() -> dict[str, Any]:
    return {
        "sub": "s",
        "client_id": "c",
        "audience": RESOURCE,
        "scope": "",
        "ttl_seconds": 60,
        "grant_id": None,
    }


def test_several_audiences_are_an_array(issuer: AccessTokenIssuer) -> None:
    _, claims = segments(issue(issuer, audience=[RESOURCE, "https://rs2.example/"]))
    assert claims["aud"] == [RESOURCE, "https://rs2.example/"]
    _, claims = segments(issue(issuer, audience=[RESOURCE]))
    assert claims["aud"] == RESOURCE


def test_empty_scope_and_missing_grant_are_left_out(issuer: AccessTokenIssuer) -> None:
    _, claims = segments(issue(issuer, scope="", grant_id=None))
    assert "scope" not in claims
    assert "grant_id" not in claims


def test_extra_claims_are_added(issuer: AccessTokenIssuer) -> None:
    act = {"sub": "agent-7", "actor_type": "agent"}
    _, claims = segments(issue(issuer, extra_claims={"act": act, "auth_time": 1_799_999_000}))
    assert claims["act"] == act
    assert claims["auth_time"] == 1_799_999_000


@pytest.mark.parametrize("name", ["iss", "sub", "aud", "exp", "jti", "client_id", "grant_id"])
def test_extra_claims_cannot_replace_registered_ones(name: str, issuer: AccessTokenIssuer) -> None:
    with pytest.raises(ValueError, match="may not set"):
        issue(issuer, extra_claims={name: "x"})


@pytest.mark.parametrize("ttl", [0, -1, 3601])
def test_sec_37_lifetime_is_capped_at_one_hour(ttl: int, issuer: AccessTokenIssuer) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        issue(issuer, ttl_seconds=ttl)


@pytest.mark.parametrize("audience", ["", [], [""]])
def test_an_audience_is_required(audience: Any, issuer: AccessTokenIssuer) -> None:
    with pytest.raises(ValueError, match="audience"):
        issue(issuer, audience=audience)


# -- verifying our own tokens ----------------------------------------------------------------


def test_verify_returns_the_claims(issuer: AccessTokenIssuer) -> None:
    token = issue(issuer)
    claims = issuer.verify(token)
    assert claims is not None
    assert claims == segments(token)[1]


async def test_eddsa_tokens_verify(
    ring: KeyRing, issuer: AccessTokenIssuer, store: MemoryKeyStore
) -> None:
    await ring.rotate(store, "EdDSA")
    assert issuer.verify(issue(issuer)) is not None


async def test_sec_110_token_signed_before_rotation_verifies_during_overlap(
    ring: KeyRing, issuer: AccessTokenIssuer, store: MemoryKeyStore
) -> None:
    before = issue(issuer)
    await ring.rotate(store, "EdDSA")
    after = issue(issuer)
    assert segments(before)[0]["kid"] != segments(after)[0]["kid"]
    assert issuer.verify(before) is not None
    assert issuer.verify(after) is not None


async def test_retired_key_stops_verifying(
    ring: KeyRing, issuer: AccessTokenIssuer, store: MemoryKeyStore
) -> None:
    old_kid = ring.signing_key().kid
    before = issue(issuer)
    await ring.rotate(store)
    await ring.retire(store, old_kid)
    assert issuer.verify(before) is None


@pytest.mark.parametrize("alg", ["none", "nOnE", "NONE"])
def test_sec_76_alg_none_is_refused(alg: str, ring: KeyRing, issuer: AccessTokenIssuer) -> None:
    key = ring.signing_key()
    header = b64(json.dumps(our_header(key, alg=alg)).encode())
    payload = b64(json.dumps(segments(issue(issuer))[1]).encode())
    assert issuer.verify(f"{header}.{payload}.") is None
    assert issuer.verify(f"{header}.{payload}.AAAA") is None


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("form", ["pem", "jwk"])
def test_sec_76_hmac_keyed_with_the_public_key_is_refused(
    alg: str, form: str, ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    public = import_key(ring.jwks()["keys"][0])
    secret = public.as_pem(private=False) if form == "pem" else json.dumps(public.as_dict())
    secret_bytes = secret if isinstance(secret, bytes) else secret.encode()
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = (
        f"{b64(json.dumps(our_header(key, alg=alg)).encode())}."
        f"{b64(json.dumps(good_claims(clock)).encode())}"
    )
    mac = hmac.new(secret_bytes, signing_input.encode(), digest).digest()
    assert issuer.verify(f"{signing_input}.{b64(mac)}") is None


async def test_sec_76_header_alg_must_be_the_keys_own(
    ring: KeyRing, issuer: AccessTokenIssuer, store: MemoryKeyStore, clock: FrozenClock
) -> None:
    es256 = ring.signing_key()
    # An attacker's Ed25519 signature, claiming our ES256 key's kid.
    stranger = OKPKey.generate_key("Ed25519")
    forged = forge(our_header(es256, alg="EdDSA"), good_claims(clock), stranger, "EdDSA")
    assert issuer.verify(forged) is None
    # Our own EdDSA key's signature, labelled with a different algorithm.
    await ring.rotate(store, "EdDSA")
    eddsa = ring.signing_key()
    relabelled = forge(our_header(eddsa, alg="Ed25519"), good_claims(clock), eddsa.key, "Ed25519")
    assert issuer.verify(relabelled) is None
    assert issuer.verify(forge(our_header(eddsa), good_claims(clock), eddsa.key, "EdDSA"))


def test_sec_76_es256_signature_with_another_p256_key_is_refused(
    ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    stranger = ECKey.generate_key("P-256")
    forged = forge(our_header(ring.signing_key()), good_claims(clock), stranger, "ES256")
    assert issuer.verify(forged) is None


def test_forge_helper_makes_tokens_verify_signs_correctly(
    ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    assert issuer.verify(forge(our_header(key), good_claims(clock), key.key, key.alg))


def test_sec_82_crit_header_is_refused(
    ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    header = {**our_header(key), "crit": ["foo"], "foo": 1}
    assert issuer.verify(forge(header, good_claims(clock), key.key, key.alg)) is None
    header = {**our_header(key), "crit": ["exp"]}
    assert issuer.verify(forge(header, good_claims(clock), key.key, key.alg)) is None
    # joserfc itself accepts a crit naming a registered member that is present.
    header = {**our_header(key), "crit": ["kid"]}
    assert issuer.verify(forge(header, good_claims(clock), key.key, key.alg)) is None


@pytest.mark.parametrize("typ", ["JWT", "jwt", "dpop+jwt", "logout+jwt", "", None, 1])
def test_sec_77_other_token_types_are_refused(
    typ: Any, ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    header = our_header(key, typ=typ)
    assert issuer.verify(forge(header, good_claims(clock), key.key, key.alg)) is None


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
def test_sec_77_at_jwt_media_type_matches_case_insensitively(
    typ: str, ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    header = our_header(key, typ=typ)
    assert issuer.verify(forge(header, good_claims(clock), key.key, key.alg)) is not None


@pytest.mark.parametrize("iss", ["https://warden.test/", "https://WARDEN.test", "https://other"])
def test_sec_78_wrong_issuer_is_refused(
    iss: str, ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    token = forge(our_header(key), good_claims(clock, iss=iss), key.key, key.alg)
    assert issuer.verify(token) is None


def test_sec_80_expired_token_is_refused(issuer: AccessTokenIssuer, clock: FrozenClock) -> None:
    token = issue(issuer, ttl_seconds=600)
    clock.advance(599)
    assert issuer.verify(token) is not None
    clock.advance(1)
    assert issuer.verify(token) is None


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_sec_80_token_from_the_future_is_refused(
    claim: str, ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    now = int(clock.now())
    claims = good_claims(clock, **{claim: now + 600}, exp=now + 1200)
    assert issuer.verify(forge(our_header(key), claims, key.key, key.alg)) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": None},
        {"iat": None},
        {"sub": None},
        {"aud": None},
        {"jti": None},
        {"client_id": None},
        {"exp": "1900000000"},
        {"exp": True},
        {"aud": ""},
        {"aud": []},
        {"aud": [1]},
        {"sub": 7},
    ],
)
def test_malformed_claims_are_refused(
    changes: dict[str, Any], ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    token = forge(our_header(key), good_claims(clock, **changes), key.key, key.alg)
    assert issuer.verify(token) is None


def test_sec_81_unknown_kid_is_refused(
    ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    for kid in ("unknown", key.kid.lower(), f"{key.kid} ", "../" + key.kid, None, 5):
        token = forge(our_header(key, kid=kid), good_claims(clock), key.key, key.alg)
        assert issuer.verify(token) is None


@pytest.mark.parametrize("member", ["jku", "jwk", "x5u", "x5c"])
def test_sec_81_key_material_in_the_header_is_refused(
    member: str, ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    values = {
        "jku": "https://attacker.test/jwks",
        "jwk": key.key.as_dict(private=False),
        "x5u": "https://attacker.test/cert",
        "x5c": ["MIIB"],
    }
    header = {**our_header(key), member: values[member]}
    assert issuer.verify(forge(header, good_claims(clock), key.key, key.alg)) is None


def test_sec_81_self_signed_token_with_embedded_jwk_is_refused(
    issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    attacker = ECKey.generate_key("P-256")
    header = {"alg": "ES256", "typ": "at+jwt", "jwk": attacker.as_dict(private=False)}
    assert issuer.verify(forge(header, good_claims(clock), attacker, "ES256")) is None


def test_sec_83_oversized_token_is_refused(
    ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    claims = good_claims(clock, padding="x" * MAX_TOKEN_BYTES)
    assert issuer.verify(forge(our_header(key), claims, key.key, key.alg)) is None
    assert issuer.verify("a" * 100_000) is None


def test_sec_83_duplicate_members_are_refused(
    ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    body = json.dumps(good_claims(clock))[:-1] + ', "aud": "https://rs-b.example"}'
    assert issuer.verify(forge(our_header(key), body.encode(), key.key, key.alg)) is None
    header = json.dumps(our_header(key))[:-1] + ', "alg": "none"}'
    forged = forge(our_header(key), good_claims(clock), key.key, key.alg)
    duplicate = f"{b64(header.encode())}.{forged.split('.', 1)[1]}"
    assert issuer.verify(duplicate) is None


def test_sec_83_non_finite_numbers_are_refused(
    ring: KeyRing, issuer: AccessTokenIssuer, clock: FrozenClock
) -> None:
    key = ring.signing_key()
    body = json.dumps(good_claims(clock))[:-1] + ', "exp": Infinity}'
    body = body.replace(f'"exp": {int(clock.now()) + 600}, ', "")
    assert issuer.verify(forge(our_header(key), body.encode(), key.key, key.alg)) is None


def test_sec_83_only_the_compact_serialisation(issuer: AccessTokenIssuer) -> None:
    token = issue(issuer)
    header, payload, signature = token.split(".")
    flattened = json.dumps({"protected": header, "payload": payload, "signature": signature})
    for value in (
        flattened,
        f"{header}.{payload}.{signature}.",
        f"{header}.{payload}",
        f"{header}.{payload}.{signature}.x.y",  # JWE has five segments
        f"{header}.{payload}.{signature}\n",
        f" {token}",
        f"{header}.{payload}.{signature}=",
        f"{header}..{signature}",
        token.replace(".", "%2E"),
    ):
        assert issuer.verify(value) is None
    assert issuer.verify(token) is not None


def test_tampered_payload_is_refused(issuer: AccessTokenIssuer) -> None:
    header, payload, signature = issue(issuer).split(".")
    claims = segments(f"{header}.{payload}.{signature}")[1]
    claims["scope"] = "admin"
    assert issuer.verify(f"{header}.{b64(json.dumps(claims).encode())}.{signature}") is None


@pytest.mark.parametrize(
    "value",
    ["", ".", "..", "a.b.c", "e30.e30.", "e30.e30.e30", "W10.e30.AA", "bnVsbA.e30.AA", "é.é.é"],
)
def test_garbage_is_refused_without_raising(value: str, issuer: AccessTokenIssuer) -> None:
    assert issuer.verify(value) is None


def test_non_strings_are_refused_without_raising(issuer: AccessTokenIssuer) -> None:
    for value in (None, 5, b"a.b.c", ["a"]):
        assert issuer.verify(value) is None  # type: ignore[arg-type]


async def test_verify_fresh_loads_a_key_rotated_by_another_process(
    ring: KeyRing,
    issuer: AccessTokenIssuer,
    store: MemoryKeyStore,
    clock: FrozenClock,
) -> None:
    other_ring = KeyRing(ring._cipher, clock, "ES256")
    await other_ring.rotate(store)
    token = AccessTokenIssuer(other_ring, ISSUER, clock).issue(**_minimal()).token
    assert issuer.verify(token) is None
    assert await issuer.verify_fresh(token, store, 60) is not None
    assert await issuer.verify_fresh("not.a.token", store, 60) is None
