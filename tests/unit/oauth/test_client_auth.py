"""Client authentication: which method a request uses, and the failure lock-out (SEC-27, 116)."""

from __future__ import annotations

import base64
import hmac
from typing import Any
from unittest import mock

import pytest

from warden.clock import FrozenClock
from warden.errors import InvalidClientError, InvalidRequestError, TooManyRequestsError
from warden.oauth.client_assertion import JWT_BEARER, ClientKeys
from warden.oauth.client_auth import (
    ClientAuthenticator,
    FailedAuthentications,
    presented_credentials,
)
from warden.oauth.model import Client
from warden.oauth.requests import OAuthRequest, Params
from warden.oauth.secrets import SecretHasher
from warden.policy.ratelimit import MemoryRateLimiter


def request(
    form: dict[str, str] | None = None,
    *,
    authorization: str | None = None,
    query: dict[str, str] | None = None,
) -> OAuthRequest:
    headers = {"authorization": authorization} if authorization else {}
    return OAuthRequest(
        method="POST",
        url="https://warden.test/token",
        headers=headers,
        query=Params(tuple((query or {}).items())),
        form=Params(tuple((form or {}).items())),
        client_ip="203.0.113.7",
    )


def basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


def test_basic_header_is_client_secret_basic_with_urldecoded_parts() -> None:
    presented = presented_credentials(request(authorization=basic("a%3Ab:s+e%2Bc")))
    assert presented.method == "client_secret_basic"
    assert (presented.client_id, presented.secret) == ("a:b", "s e+c")


def test_basic_scheme_is_case_insensitive_and_may_repeat_client_id() -> None:
    presented = presented_credentials(
        request({"client_id": "a"}, authorization="bAsIc " + basic("a:s").split()[1])
    )
    assert presented.client_id == "a"


def test_body_secret_is_client_secret_post() -> None:
    presented = presented_credentials(request({"client_id": "a", "client_secret": "s"}))
    assert (presented.method, presented.secret) == ("client_secret_post", "s")


def test_client_id_alone_is_none() -> None:
    assert presented_credentials(request({"client_id": "a"})).method == "none"


def test_assertion_is_private_key_jwt_named_by_its_sub() -> None:
    payload = base64.urlsafe_b64encode(b'{"sub":"agent_9","iss":"agent_9"}').decode().rstrip("=")
    form = {"client_assertion_type": JWT_BEARER, "client_assertion": f"e30.{payload}.sig"}
    presented = presented_credentials(request(form))
    assert (presented.method, presented.client_id) == ("private_key_jwt", "agent_9")


@pytest.mark.parametrize(
    ("form", "authorization", "query"),
    [
        ({"client_secret": "s"}, basic("a:s"), None),
        ({"client_assertion": "x.y.z", "client_assertion_type": JWT_BEARER}, basic("a:s"), None),
        ({"client_id": "b"}, basic("a:s"), None),
        ({"client_id": "a"}, None, {"client_secret": "s"}),
        ({"client_id": "a"}, None, {"client_id": "a"}),
        ({"client_id": "a", "client_secret": "s", "client_assertion": "x.y.z"}, None, None),
        ({"client_assertion": "x.y.z", "client_assertion_type": "urn:other"}, None, None),
        ({"client_id": "a"}, "Bearer abc", None),
    ],
    ids=[
        "basic+body-secret",
        "basic+assertion",
        "basic-id-mismatch",
        "secret-in-query",
        "id-in-query",
        "post+assertion",
        "assertion-type",
        "other-scheme",
    ],
)
def test_sec_27_malformed_presentations_are_invalid_request(
    form: dict[str, str], authorization: str | None, query: dict[str, str] | None
) -> None:
    with pytest.raises(InvalidRequestError):
        presented_credentials(request(form, authorization=authorization, query=query))


@pytest.mark.parametrize(
    ("form", "authorization"),
    [
        ({}, None),
        ({}, "Basic !!!"),
        ({}, basic("no-colon")),
        ({}, basic(":secret")),
        ({"client_assertion": "not-a-jwt", "client_assertion_type": JWT_BEARER}, None),
    ],
)
def test_unidentifiable_clients_are_invalid_client(
    form: dict[str, str], authorization: str | None
) -> None:
    with pytest.raises(InvalidClientError) as caught:
        presented_credentials(request(form, authorization=authorization))
    assert caught.value.headers["WWW-Authenticate"].startswith("Basic ")


def test_repeated_credential_parameter_is_invalid_request() -> None:
    form = Params((("client_id", "a"), ("client_id", "b")))
    with pytest.raises(InvalidRequestError):
        presented_credentials(OAuthRequest(method="POST", url="https://w.test/token", form=form))


async def test_sec_116_lock_out_after_limit_then_window_end() -> None:
    clock = FrozenClock(1_800_000_040.0)
    failures = FailedAuthentications(MemoryRateLimiter(clock), clock, limit=3)
    for _ in range(2):
        await failures.record("k")
        failures.check("k")
    await failures.record("k")
    with pytest.raises(TooManyRequestsError) as caught:
        failures.check("k")
    assert caught.value.headers["Retry-After"] == "20"
    failures.check("other")
    clock.advance(20)
    failures.check("k")


class _Store:
    def __init__(self, client: Client | None) -> None:
        self.client = client
        self.touched: list[tuple[str, float]] = []

    async def get(self, client_id: str) -> Client | None:
        return self.client if self.client and self.client.client_id == client_id else None

    async def touch(self, client_id: str, at: float) -> None:
        self.touched.append((client_id, at))


class _Lookup:
    async def find(self, client_id: str, store: Any) -> Client | None:
        found: Client | None = await store.get(client_id)
        return found


class _Stores:
    def __init__(self, client: Client | None) -> None:
        self.clients = _Store(client)


def _authenticator(hasher: SecretHasher, clock: FrozenClock) -> ClientAuthenticator:
    return ClientAuthenticator(
        clients=_Lookup(),
        hasher=hasher,
        clock=clock,
        keys=ClientKeys(mock.AsyncMock(), clock),
        failures=FailedAuthentications(MemoryRateLimiter(clock), clock, limit=20),
        issuer="https://warden.test",
        token_endpoint="https://warden.test/token",
    )


@pytest.mark.parametrize("client_id", ["agent_1", "nobody"])
async def test_sec_111_and_sec_28_every_secret_check_is_a_constant_time_comparison(
    client_id: str,
) -> None:
    clock = FrozenClock()
    hasher = SecretHasher(b"pepper")
    client = Client(
        client_id="agent_1",
        origin="static",
        kind="agent",
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=(),
        grant_types=("client_credentials",),
        secret_hash=hasher.digest("right"),
    )
    stores: Any = _Stores(client)
    authenticator = _authenticator(hasher, clock)
    with (
        mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as spy,
        pytest.raises(InvalidClientError),
    ):
        await authenticator.authenticate(
            request(authorization=basic(f"{client_id}:wrong")), stores, endpoint="x"
        )
    assert spy.call_count == 1
    assert stores.clients.touched == []


async def test_public_client_needs_only_its_id_where_public_clients_may_call() -> None:
    clock = FrozenClock()
    hasher = SecretHasher(b"pepper")
    client = Client(
        client_id="pub",
        origin="dynamic",
        kind="agent",
        token_endpoint_auth_method="none",
        redirect_uris=(),
        grant_types=("authorization_code",),
    )
    stores: Any = _Stores(client)
    authenticator = _authenticator(hasher, clock)
    found = await authenticator.authenticate(request({"client_id": "pub"}), stores, endpoint="x")
    assert found == client
    with pytest.raises(InvalidClientError):
        await authenticator.authenticate(
            request({"client_id": "pub"}), stores, endpoint="x", allow_public=False
        )
