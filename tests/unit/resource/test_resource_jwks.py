"""The JWKS cache and issuer discovery: key selection, refetch limits, exact issuer."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from tests.unit.resource.support import (
    ISSUER,
    JWKS_URL,
    METADATA_URL,
    FakeAuthorizationServer,
    new_key,
)

from warden.clock import FrozenClock
from warden.resource import AuthorizationServerMetadata, AuthorizationServerUnavailable, JwksCache
from warden.resource.discovery import metadata_urls
from warden.resource.jwks import parse_jwks

ALLOWED = ("ES256", "EdDSA", "RS256")


def cache(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> JwksCache:
    source = AuthorizationServerMetadata(ISSUER, http=http, clock=clock)
    return JwksCache(http=http, source=source, algorithms=ALLOWED, clock=clock)


def test_parse_keeps_usable_signing_keys_by_kid() -> None:
    es, ed, rs = new_key("ES256", "es"), new_key("EdDSA", "ed"), new_key("RS256", "rs")
    keys = parse_jwks({"keys": [es.public_jwk(), ed.public_jwk(), rs.public_jwk()]}, ALLOWED)

    assert {k: v.algorithms for k, v in keys.items()} == {
        "es": {"ES256"},
        "ed": {"EdDSA"},
        "rs": {"RS256"},
    }


def without_alg(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k != "alg"}


def test_parse_infers_the_algorithm_from_the_key_type() -> None:
    es, ed = new_key("ES256", "es"), new_key("EdDSA", "ed")
    keys = parse_jwks(
        {"keys": [without_alg(es.public_jwk()), without_alg(ed.public_jwk())]},
        ("ES256", "EdDSA", "Ed25519"),
    )

    assert keys["es"].algorithms == {"ES256"}
    assert keys["ed"].algorithms == {"EdDSA", "Ed25519"}


@pytest.mark.parametrize(
    "change",
    [
        lambda jwk: {k: v for k, v in jwk.items() if k != "kid"},
        lambda jwk: {**jwk, "use": "enc"},
        lambda jwk: {**jwk, "key_ops": ["encrypt"]},
        lambda jwk: {**jwk, "alg": "ES384"},  # alg of another curve
        lambda jwk: {**jwk, "alg": "HS256"},
        lambda jwk: {**jwk, "x": "not-a-point"},
        lambda jwk: {**jwk, "kty": "oct", "k": "c2VjcmV0"},
    ],
)
def test_parse_skips_unusable_keys(change: Any) -> None:
    good, bad = new_key("ES256", "good"), new_key("ES256", "bad")

    keys = parse_jwks({"keys": [good.public_jwk(), change(bad.public_jwk())]}, ALLOWED)

    assert list(keys) == ["good"]


def test_parse_skips_rsa_keys_without_alg_when_ambiguous_or_small() -> None:
    rsa = without_alg(new_key("RS256", "rs").public_jwk())

    assert parse_jwks({"keys": [rsa]}, ("RS256", "PS256")) == {}
    assert list(parse_jwks({"keys": [rsa]}, ("RS256",))) == ["rs"]
    small = {**rsa, "n": rsa["n"][:170]}  # about 1024 bits
    assert parse_jwks({"keys": [small]}, ("RS256",)) == {}


def test_parse_drops_a_kid_that_appears_twice() -> None:
    a, b = new_key("ES256", "same"), new_key("ES256", "same")

    assert parse_jwks({"keys": [a.public_jwk(), b.public_jwk()]}, ALLOWED) == {}


def test_parse_imports_only_the_public_half() -> None:
    key = new_key("ES256", "k")
    jwk = {**key.key.as_dict(private=True), "kid": "k", "alg": "ES256"}

    assert not parse_jwks({"keys": [jwk]}, ALLOWED)["k"].key.is_private


def test_configuring_symmetric_or_none_algorithms_is_refused() -> None:
    for bad in (["none"], ["HS256"], ["ES256", "nOnE"], [], "ES256"):
        with pytest.raises(ValueError):
            JwksCache.from_jwks({"keys": []}, bad)


async def test_keys_are_fetched_once_and_cached(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    keys = cache(issuer, http, clock)

    assert (await keys.get(issuer.key.kid)) is not None
    assert (await keys.get(issuer.key.kid)) is not None
    assert issuer.fetches(METADATA_URL) == 1
    assert issuer.fetches(JWKS_URL) == 1


async def test_sec_81_random_kids_cost_at_most_one_fetch_a_minute(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    keys = cache(issuer, http, clock)
    await keys.get(issuer.key.kid)

    for _ in range(100):
        assert await keys.get(secrets.token_urlsafe(6)) is None
        clock.advance(0.5)
    assert issuer.fetches() == 2

    clock.advance(10)
    await keys.get("yet-another")
    assert issuer.fetches() == 3


async def test_sec_81_rotated_key_is_found_after_one_refetch(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    keys = cache(issuer, http, clock)
    await keys.get(issuer.key.kid)
    rotated = new_key("ES256")
    issuer.keys.insert(0, rotated)

    found = await keys.get(rotated.kid)

    assert found is not None and found.kid == rotated.kid
    assert issuer.fetches() == 2


async def test_old_keys_expire_after_max_age(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    keys = cache(issuer, http, clock)
    old = issuer.key
    await keys.get(old.kid)
    issuer.keys = [new_key()]

    clock.advance(601)

    assert await keys.get(old.kid) is None


async def test_failed_refresh_keeps_the_keys_held(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    keys = cache(issuer, http, clock)
    await keys.get(issuer.key.kid)
    issuer.jwks_status = 500

    clock.advance(601)

    assert await keys.get(issuer.key.kid) is not None


async def test_no_keys_at_all_is_unavailable_and_retried_later(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    keys = cache(issuer, http, clock)
    issuer.jwks_status = 503

    for _ in range(5):
        with pytest.raises(AuthorizationServerUnavailable):
            await keys.get(issuer.key.kid)
    assert issuer.fetches() == 1

    issuer.jwks_status = 200
    clock.advance(11)
    assert await keys.get(issuer.key.kid) is not None


async def test_static_key_set_never_fetches() -> None:
    key = new_key()
    keys = JwksCache.from_jwks({"keys": [key.public_jwk()]})

    assert await keys.get(key.kid) is not None
    assert await keys.get("other") is None


def test_jwks_uri_must_be_https() -> None:
    with pytest.raises(ValueError):
        JwksCache(http=httpx.AsyncClient(), source="http://as.example/jwks.json")


def test_metadata_urls_follow_the_mcp_probe_order() -> None:
    assert metadata_urls("https://as.example") == (
        "https://as.example/.well-known/oauth-authorization-server",
        "https://as.example/.well-known/openid-configuration",
    )
    assert metadata_urls("https://as.example/t1") == (
        "https://as.example/.well-known/oauth-authorization-server/t1",
        "https://as.example/.well-known/openid-configuration/t1",
        "https://as.example/t1/.well-known/openid-configuration",
    )


async def test_sec_78_metadata_naming_another_issuer_is_refused(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    issuer.metadata_issuer = ISSUER + "/"

    with pytest.raises(AuthorizationServerUnavailable, match="names issuer"):
        await AuthorizationServerMetadata(ISSUER, http=http, clock=clock).document()


async def test_discovery_falls_back_to_openid_configuration(clock: FrozenClock) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/t1/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": "https://as.example/t1"})
        return httpx.Response(404)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        source = AuthorizationServerMetadata("https://as.example/t1", http=http, clock=clock)
        document = await source.document()

    assert document["issuer"] == "https://as.example/t1"
    assert seen == [
        "/.well-known/oauth-authorization-server/t1",
        "/.well-known/openid-configuration/t1",
        "/t1/.well-known/openid-configuration",
    ]


async def test_discovery_never_follows_redirects(clock: FrozenClock) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://evil.example/metadata"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(AuthorizationServerUnavailable):
            await AuthorizationServerMetadata(ISSUER, http=http, clock=clock).document()


async def test_metadata_endpoint_must_be_https(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    original = issuer.metadata
    issuer.metadata = lambda: {**original(), "jwks_uri": "http://as.example/jwks.json"}  # type: ignore[method-assign]

    with pytest.raises(AuthorizationServerUnavailable, match="jwks_uri"):
        await cache(issuer, http, clock).get(issuer.key.kid)
