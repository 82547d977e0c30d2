"""Client authentication at /token, end to end (SEC-27, SEC-28, SEC-107, SEC-116; RFC 7523)."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey
from starlette.applications import Starlette
from token_support import SECRET, add_client, basic, token_request

from warden.clock import FrozenClock
from warden.oauth.client_assertion import JWT_BEARER
from warden.web.context import AppContext

CC = {"grant_type": "client_credentials"}
TOKEN_URL = "https://warden.test/token"


@pytest.fixture
async def agent(ctx: AppContext) -> None:
    await add_client(ctx, grant_types=("client_credentials",))


def assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.usefixtures("agent")
async def test_client_secret_basic_authenticates(client: httpx.AsyncClient) -> None:
    response = await token_request(client, CC, headers=basic("agent_1"))
    assert response.status_code == 200, response.text


async def test_basic_credentials_are_form_urlencoded(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    secret = "p@ss:w+rd/é"
    await add_client(ctx, "agent:1", grant_types=("client_credentials",), secret=secret)
    raw = f"{quote_plus('agent:1')}:{quote_plus(secret)}".encode()
    header = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    response = await token_request(client, CC, headers=header)
    assert response.status_code == 200, response.text


async def test_client_secret_post_authenticates(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await add_client(ctx, method="client_secret_post", grant_types=("client_credentials",))
    response = await token_request(client, {**CC, "client_id": "agent_1", "client_secret": SECRET})
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("agent")
async def test_successful_authentication_touches_the_client(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    clock.advance(100)
    await token_request(client, CC, headers=basic("agent_1"))
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.clients.get("agent_1")
    assert stored is not None and stored.last_used_at == clock.now()


@pytest.mark.usefixtures("agent")
async def test_sec_27_confidential_client_sending_only_its_id(client: httpx.AsyncClient) -> None:
    assert_invalid_client(await token_request(client, {**CC, "client_id": "agent_1"}))


@pytest.mark.usefixtures("agent")
async def test_sec_27_basic_client_sending_secret_in_body(client: httpx.AsyncClient) -> None:
    response = await token_request(client, {**CC, "client_id": "agent_1", "client_secret": SECRET})
    assert_invalid_client(response)


@pytest.mark.usefixtures("agent")
async def test_sec_27_header_and_body_is_invalid_request(client: httpx.AsyncClient) -> None:
    response = await token_request(
        client, {**CC, "client_secret": SECRET}, headers=basic("agent_1")
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.usefixtures("agent")
async def test_sec_27_credentials_in_query_are_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/token?client_secret={SECRET}", data=CC, headers=basic("agent_1")
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_no_credentials_at_all(client: httpx.AsyncClient) -> None:
    assert_invalid_client(await token_request(client, CC))


@pytest.mark.usefixtures("agent")
async def test_malformed_basic_header(client: httpx.AsyncClient) -> None:
    for value in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        assert_invalid_client(await token_request(client, CC, headers={"Authorization": value}))


@pytest.mark.usefixtures("agent")
async def test_sec_28_invalid_client_is_uniform(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await add_client(
        ctx, "post_1", method="client_secret_post", grant_types=("client_credentials",)
    )
    answers = [
        await token_request(client, CC, headers=basic("nobody")),
        await token_request(client, CC, headers=basic("agent_1", "wrong-secret")),
        await token_request(client, CC, headers=basic("post_1")),  # wrong method
    ]
    for response in answers:
        assert_invalid_client(response)
    assert len({r.content for r in answers}) == 1
    assert len({r.headers["www-authenticate"] for r in answers}) == 1


async def test_expired_secret_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    await add_client(
        ctx, grant_types=("client_credentials",), secret_expires_at=int(clock.now()) + 60
    )
    assert (await token_request(client, CC, headers=basic("agent_1"))).status_code == 200
    clock.advance(61)
    assert_invalid_client(await token_request(client, CC, headers=basic("agent_1")))


@pytest.mark.usefixtures("agent")
async def test_sec_107_secret_is_stored_only_as_digest(ctx: AppContext) -> None:
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.clients.get("agent_1")
    assert stored is not None and stored.secret_hash is not None
    assert SECRET not in stored.secret_hash


@pytest.mark.usefixtures("agent")
async def test_sec_116_failures_lock_out_the_client_from_that_address(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    for _ in range(20):
        assert_invalid_client(await token_request(client, CC, headers=basic("agent_1", "guess")))
    locked = await token_request(client, CC, headers=basic("agent_1"))
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json()["error"] == "rate_limited"

    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://warden.test") as other:
        assert (await token_request(other, CC, headers=basic("agent_1"))).status_code == 200


@pytest.mark.usefixtures("agent")
async def test_sec_116_lock_out_ends_with_the_window(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    for _ in range(20):
        await token_request(client, CC, headers=basic("agent_1", "guess"))
    assert (await token_request(client, CC, headers=basic("agent_1"))).status_code == 429
    clock.advance(61)
    assert (await token_request(client, CC, headers=basic("agent_1"))).status_code == 200


# private_key_jwt (RFC 7523 §2.2, §3)


@pytest.fixture
def key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "k1"})


@pytest.fixture
async def jwt_client(ctx: AppContext, key: ECKey) -> None:
    await add_client(
        ctx,
        method="private_key_jwt",
        grant_types=("client_credentials",),
        metadata={"jwks": {"keys": [key.as_dict(private=False)]}},
    )


def assertion(key: Any, clock: FrozenClock, alg: str = "ES256", **overrides: Any) -> str:
    now = int(clock.now())
    claims = {
        "iss": "agent_1",
        "sub": "agent_1",
        "aud": TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": f"jti-{time.monotonic_ns()}",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": alg, "kid": "k1"}
    return jwt.encode(header, claims, key, algorithms=[alg])


async def present(client: httpx.AsyncClient, value: str, **extra: str) -> httpx.Response:
    data = {**CC, "client_assertion_type": JWT_BEARER, "client_assertion": value, **extra}
    return await token_request(client, data)


@pytest.mark.usefixtures("jwt_client")
async def test_private_key_jwt_authenticates(
    client: httpx.AsyncClient, key: ECKey, clock: FrozenClock
) -> None:
    response = await present(client, assertion(key, clock))
    assert response.status_code == 200, response.text
    issuer_aud = await present(client, assertion(key, clock, aud=["https://warden.test"]))
    assert issuer_aud.status_code == 200, issuer_aud.text


@pytest.mark.usefixtures("jwt_client")
async def test_private_key_jwt_replayed_jti_is_refused(
    client: httpx.AsyncClient, key: ECKey, clock: FrozenClock
) -> None:
    value = assertion(key, clock, jti="once")
    assert (await present(client, value)).status_code == 200
    assert_invalid_client(await present(client, value))
    assert_invalid_client(await present(client, assertion(key, clock, jti="once")))


@pytest.mark.usefixtures("jwt_client")
@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://elsewhere.example/token"},
        {"iss": "agent_2"},
        {"sub": "agent_2", "iss": "agent_2"},
        {"exp": None},
        {"jti": None},
        {"nbf": 1_900_000_000},
    ],
    ids=["aud", "iss", "sub", "no-exp", "no-jti", "nbf-future"],
)
async def test_private_key_jwt_bad_claims_are_refused(
    client: httpx.AsyncClient, key: ECKey, clock: FrozenClock, overrides: dict[str, Any]
) -> None:
    assert_invalid_client(
        await present(client, assertion(key, clock, **overrides), client_id="agent_1")
    )


@pytest.mark.usefixtures("jwt_client")
async def test_private_key_jwt_expired_or_too_long(
    client: httpx.AsyncClient, key: ECKey, clock: FrozenClock
) -> None:
    now = int(clock.now())
    assert_invalid_client(await present(client, assertion(key, clock, exp=now - 1)))
    assert_invalid_client(await present(client, assertion(key, clock, exp=now + 7200)))


@pytest.mark.usefixtures("jwt_client")
async def test_private_key_jwt_foreign_key_is_refused(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    assert_invalid_client(await present(client, assertion(stranger, clock)))


@pytest.mark.usefixtures("jwt_client")
async def test_private_key_jwt_never_hmac_or_none(
    client: httpx.AsyncClient, key: ECKey, clock: FrozenClock
) -> None:
    hmac_key = OctKey.import_key(b"k" * 32)
    assert_invalid_client(await present(client, assertion(hmac_key, clock, alg="HS256")))
    segments = assertion(key, clock).split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').rstrip(b"=").decode()
    assert_invalid_client(await present(client, f"{header}.{segments[1]}."))


async def test_private_key_jwt_rs256_key(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    rsa = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    await add_client(
        ctx,
        method="private_key_jwt",
        grant_types=("client_credentials",),
        metadata={"jwks": {"keys": [rsa.as_dict(private=False)]}},
    )
    response = await present(client, assertion(rsa, clock, alg="PS256"))
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("jwt_client")
async def test_private_key_jwt_client_may_not_use_a_secret(client: httpx.AsyncClient) -> None:
    assert_invalid_client(await token_request(client, CC, headers=basic("agent_1")))


@pytest.mark.usefixtures("jwt_client")
async def test_unknown_assertion_type_is_invalid_request(
    client: httpx.AsyncClient, key: ECKey, clock: FrozenClock
) -> None:
    response = await present(client, assertion(key, clock), client_assertion_type="urn:x")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
