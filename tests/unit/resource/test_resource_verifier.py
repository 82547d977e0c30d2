"""TokenVerifier: the principal it builds, its configuration, and rules best seen up close.

The SEC-76..SEC-86 refusals are asserted on the wire in tests/flows/test_resource_middleware.py.
"""

from __future__ import annotations

import httpx
import pytest
from tests.unit.resource.support import (
    ISSUER,
    RESOURCE,
    FakeAuthorizationServer,
    SigningKey,
    new_key,
    sign,
)

from warden.clock import FrozenClock
from warden.resource import InvalidTokenError, TokenVerifier


async def test_valid_token_gives_a_typed_principal(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    token = issuer.mint(
        scope="read:calendar write:email:draft-only-no-send",
        act={"sub": "agent-1", "act": {"sub": "orchestrator"}},
    )

    principal = await verifier.verify(token)

    assert principal.subject == "usr_alice"
    assert principal.client_id == "agent-1"
    assert principal.scopes == {"read:calendar", "write:email:draft-only-no-send"}
    assert principal.audience == (RESOURCE,)
    assert principal.issuer == ISSUER
    assert principal.expires_at == int(issuer.clock.now()) + 300
    assert principal.actor_type == "agent" and principal.is_agent
    assert [a.subject for a in principal.delegation_chain] == ["agent-1", "orchestrator"]
    assert principal.actor is not None and principal.actor.subject == "agent-1"
    assert principal.claims["jti"]
    assert principal.token == token


async def test_audience_may_be_a_list_naming_this_resource(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(issuer.mint(aud=["https://a.example", RESOURCE]))

    assert principal.audience == ("https://a.example", RESOURCE)


async def test_application_at_jwt_typ_is_accepted_in_any_case(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    await verifier.verify(issuer.mint(header={"typ": "application/AT+JWT"}))


@pytest.mark.parametrize("alg", ["EdDSA", "RS256"])
async def test_other_allowed_algorithms_verify(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier, alg: str
) -> None:
    key = new_key(alg)
    issuer.keys.append(key)

    assert (await verifier.verify(issuer.mint(key))).subject == "usr_alice"


async def test_sec_87_client_credentials_token_is_a_client(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    token = issuer.mint(
        sub="client:user-42", client_id="client:user-42", act=None, actor_type="service"
    )

    principal = await verifier.verify(token)

    assert principal.kind == "client"
    assert principal.user_id is None


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": None},
        {"client_id": None},
        {"client_id": 7},
        {"scope": ["read:calendar"]},
        {"act": {"client_id": "no-sub"}},
        {"exp": "1800000300"},
        {"exp": True},
        {"iat": None},
        {"exp": None},
        {"aud": []},
        {"aud": [RESOURCE, 3]},
        {"iss": None},
        {"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},  # SEC-86
    ],
)
async def test_malformed_claims_are_refused(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier, claims: dict[str, object]
) -> None:
    with pytest.raises(InvalidTokenError):
        await verifier.verify(issuer.mint(**claims))


async def test_sec_80_leeway_applies_to_exp_and_iat(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    now = int(issuer.clock.now())

    await verifier.verify(issuer.mint(exp=now - 20))
    await verifier.verify(issuer.mint(iat=now + 20, nbf=now + 20))
    with pytest.raises(InvalidTokenError, match="expired"):
        await verifier.verify(issuer.mint(exp=now - 30))
    with pytest.raises(InvalidTokenError, match="not valid yet"):
        await verifier.verify(issuer.mint(nbf=now + 31))


@pytest.mark.parametrize("leeway", [-1, 61, 3600])
def test_sec_80_leeway_is_at_most_a_minute(leeway: float) -> None:
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier(issuer=ISSUER, resource=RESOURCE, leeway_seconds=leeway, jwks={"keys": []})


@pytest.mark.parametrize("algorithms", [["none"], ["HS256"], ["ES256", "HS512"], ["es256"], []])
def test_sec_76_unsafe_allow_lists_are_refused(algorithms: list[str]) -> None:
    with pytest.raises(ValueError):
        TokenVerifier(issuer=ISSUER, resource=RESOURCE, algorithms=algorithms, jwks={"keys": []})


async def test_sec_76_allow_list_narrows_what_the_jwks_offers(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    verifier = TokenVerifier(
        issuer=ISSUER, resource=RESOURCE, algorithms=["EdDSA"], http=http, clock=clock
    )

    with pytest.raises(InvalidTokenError, match="alg"):
        await verifier.verify(issuer.mint())  # ES256, published but not allowed here


async def test_sec_76_token_alg_must_be_the_keys_own_algorithm(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    rsa = new_key("RS256")  # published with "alg": "RS256"
    issuer.keys = [rsa]
    verifier = TokenVerifier(
        issuer=ISSUER, resource=RESOURCE, algorithms=["RS256", "PS256"], http=http, clock=clock
    )
    ps256 = sign(issuer.header(rsa, alg="PS256"), issuer.claims(), rsa.key, "PS256")

    with pytest.raises(InvalidTokenError, match="key's algorithm"):
        await verifier.verify(ps256)
    await verifier.verify(issuer.mint(rsa))


@pytest.mark.parametrize(
    ("issuer_value", "resource_value"),
    [
        ("https://as.example/?x", RESOURCE),
        (ISSUER, "rs.example/mcp"),
        ("http://as.example", RESOURCE),
    ],
)
def test_bad_configuration_is_refused(issuer_value: str, resource_value: str) -> None:
    with pytest.raises(ValueError):
        TokenVerifier(issuer=issuer_value, resource=resource_value, jwks={"keys": []})


async def test_p11_key_replaced_under_the_same_kid_is_refetched_once(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    await verifier.verify(issuer.mint())
    replacement = SigningKey(issuer.key.kid, "ES256", new_key().key)
    issuer.keys = [replacement]

    principal = await verifier.verify(issuer.mint(replacement))

    assert principal.subject == "usr_alice"
    assert issuer.fetches() == 2


async def test_forged_signature_under_a_known_kid_is_refused(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    forger = SigningKey(issuer.key.kid, "ES256", new_key().key)

    for _ in range(5):
        with pytest.raises(InvalidTokenError, match="signature"):
            await verifier.verify(issuer.mint(forger))
    assert issuer.fetches() == 2  # the first load, then one rate-limited refetch


async def test_static_jwks_and_explicit_jwks_uri(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    static = TokenVerifier(
        issuer=ISSUER, resource=RESOURCE, jwks={"keys": [issuer.key.public_jwk()]}, clock=clock
    )
    direct = TokenVerifier(
        issuer=ISSUER,
        resource=RESOURCE,
        jwks_uri="https://as.example/jwks.json",
        http=http,
        clock=clock,
    )

    await static.verify(issuer.mint())
    await direct.verify(issuer.mint())
    assert issuer.fetches("https://as.example/.well-known/oauth-authorization-server") == 0


async def test_owned_http_client_is_closed() -> None:
    async with TokenVerifier(issuer=ISSUER, resource=RESOURCE) as verifier:
        http = verifier._owned_http
        assert http is not None and not http.is_closed
    assert http.is_closed


async def test_signature_must_cover_the_exact_payload(
    issuer: FakeAuthorizationServer, verifier: TokenVerifier
) -> None:
    token = issuer.mint()
    other = sign(issuer.header(), issuer.claims(sub="usr_mallory"), new_key().key, "ES256")
    spliced = ".".join([*token.split(".")[:1], other.split(".")[1], token.split(".")[2]])

    with pytest.raises(InvalidTokenError, match="signature"):
        await verifier.verify(spliced)
