"""RFC 7662 introspection: what an answer must say, client authentication, caching."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from tests.unit.resource.support import (
    INTROSPECTION_URL,
    ISSUER,
    RESOURCE,
    FakeAuthorizationServer,
)

from warden.clock import FrozenClock
from warden.resource import (
    AuthorizationServerUnavailable,
    IntrospectionVerifier,
    InvalidTokenError,
    TokenVerifier,
)

OPAQUE = "opaque-token_value~1+/="


def answer_with(body: dict[str, Any], status: int = 200) -> Any:
    def introspect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)

    return introspect


def active(issuer: FakeAuthorizationServer, **overrides: Any) -> dict[str, Any]:
    claims = issuer.claims(**overrides)
    return {"active": True, "token_type": "Bearer", **claims}


def introspector(
    http: httpx.AsyncClient, clock: FrozenClock, **options: Any
) -> IntrospectionVerifier:
    return IntrospectionVerifier(
        issuer=ISSUER,
        resource=RESOURCE,
        client_id="rs client",
        client_secret="s3cr:t&",
        http=http,
        clock=clock,
        **options,
    )


async def test_active_token_gives_a_principal_and_the_request_is_authenticated(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    issuer.introspection = answer_with(active(issuer))

    principal = await introspector(http, clock).verify(OPAQUE)

    assert principal.subject == "usr_alice"
    assert principal.scopes == {"read:calendar"}
    request = issuer.requests[-1]
    assert str(request.url) == INTROSPECTION_URL  # discovered from the metadata
    assert parse_qs(request.content.decode()) == {
        "token": [OPAQUE],
        "token_type_hint": ["access_token"],
    }
    scheme, _, credentials = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials) == b"rs+client:s3cr%3At%26"  # RFC 6749 §2.3.1


@pytest.mark.parametrize(
    "answer",
    [
        {"active": False},
        {"active": "true"},
        {"token_type": "refresh_token"},
        {"token_type": "DPoP"},
        {"iss": ISSUER + "/"},
        {"aud": "https://other.example/mcp"},
        {"aud": None},
        {"exp": 1_700_000_000},
        {"client_id": None},
        {"cnf": {"jkt": "x"}},
    ],
)
async def test_unacceptable_answers_are_invalid_tokens(
    issuer: FakeAuthorizationServer,
    http: httpx.AsyncClient,
    clock: FrozenClock,
    answer: dict[str, Any],
) -> None:
    issuer.introspection = answer_with(
        {k: v for k, v in {**active(issuer), **answer}.items() if v is not None}
    )

    with pytest.raises(InvalidTokenError):
        await introspector(http, clock).verify(OPAQUE)


async def test_minimal_answer_falls_back_to_the_client_as_subject(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    issuer.introspection = answer_with({"active": True, "aud": RESOURCE, "client_id": "svc"})

    principal = await introspector(http, clock).verify(OPAQUE)

    assert (principal.subject, principal.kind, principal.expires_at) == ("svc", "client", None)


@pytest.mark.parametrize("token", ["has space", "a" * 9000, "", 'quote"'])
async def test_malformed_tokens_are_not_sent(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock, token: str
) -> None:
    with pytest.raises(InvalidTokenError):
        await introspector(http, clock).verify(token)
    assert issuer.requests == []


async def test_endpoint_refusing_our_credentials_is_unavailable(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    issuer.introspection = answer_with({"error": "invalid_client"}, status=401)

    with pytest.raises(AuthorizationServerUnavailable):
        await introspector(http, clock).verify(OPAQUE)


async def test_no_cache_by_default(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    issuer.introspection = answer_with(active(issuer))
    verifier = introspector(http, clock, endpoint=INTROSPECTION_URL)

    await verifier.verify(OPAQUE)
    await verifier.verify(OPAQUE)

    assert issuer.fetches(INTROSPECTION_URL) == 2


async def test_positive_cache_is_short_and_never_outlives_exp(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    now = int(clock.now())
    issuer.introspection = answer_with(active(issuer, exp=now + 5))
    verifier = introspector(http, clock, endpoint=INTROSPECTION_URL, cache_seconds=30)

    await verifier.verify(OPAQUE)
    clock.advance(4)
    await verifier.verify(OPAQUE)
    assert issuer.fetches(INTROSPECTION_URL) == 1

    clock.advance(2)  # past exp: never served from the cache, so asked again
    await verifier.verify(OPAQUE)
    assert issuer.fetches(INTROSPECTION_URL) == 2


async def test_negative_answers_are_never_cached(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    issuer.introspection = answer_with({"active": False})
    verifier = introspector(http, clock, endpoint=INTROSPECTION_URL, cache_seconds=30)

    for _ in range(2):
        with pytest.raises(InvalidTokenError):
            await verifier.verify(OPAQUE)
    assert issuer.fetches(INTROSPECTION_URL) == 2


def test_cache_is_at_most_a_minute() -> None:
    with pytest.raises(ValueError):
        IntrospectionVerifier(
            issuer=ISSUER, resource=RESOURCE, client_id="c", client_secret="s", cache_seconds=300
        )


async def test_jwt_with_introspection_refuses_a_revoked_token(
    issuer: FakeAuthorizationServer, http: httpx.AsyncClient, clock: FrozenClock
) -> None:
    verifier = TokenVerifier(
        issuer=ISSUER,
        resource=RESOURCE,
        http=http,
        clock=clock,
        introspection=introspector(http, clock),
    )
    token = issuer.mint()
    issuer.introspection = answer_with(active(issuer))
    assert (await verifier.verify(token)).subject == "usr_alice"

    issuer.introspection = answer_with({"active": False})  # revoked at the AS

    with pytest.raises(InvalidTokenError, match="inactive"):
        await verifier.verify(token)
