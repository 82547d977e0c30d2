"""Token requests: client authentication, response parsing, refresh and rotation (C5)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from agent_support import ISSUER, RESOURCE, form_of, json_response

from warden.agent.errors import TokenError
from warden.agent.registration import ClientCredentials
from warden.agent.tokens import TokenSet, client_authentication, refresh, request_token

TOKEN_ENDPOINT = f"{ISSUER}/token"
PUBLIC = ClientCredentials("agent_1")


class Endpoint:
    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.seen: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.answer

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


def success(**body: Any) -> httpx.Response:
    return json_response(200, {"access_token": "at", "token_type": "Bearer", **body})


async def token(answer: httpx.Response, client: ClientCredentials = PUBLIC) -> TokenSet:
    async with Endpoint(answer).http() as http:
        return await request_token(
            http, TOKEN_ENDPOINT, client, {"grant_type": "x"}, now=1000.0, requested_scope="a"
        )


def test_public_client_sends_its_id_in_the_body() -> None:
    form: dict[str, str] = {}
    assert client_authentication(PUBLIC, form) == {}
    assert form == {"client_id": "agent_1"}


def test_client_secret_basic_form_encodes_before_base64() -> None:
    client = ClientCredentials("a:b", "p@ss word", "client_secret_basic")
    form: dict[str, str] = {}
    headers = client_authentication(client, form)
    assert form == {}
    raw = base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode()
    assert raw == "a%3Ab:p%40ss%20word"


def test_client_secret_post() -> None:
    form: dict[str, str] = {}
    assert client_authentication(ClientCredentials("c", "s", "client_secret_post"), form) == {}
    assert form == {"client_id": "c", "client_secret": "s"}


async def test_success_response() -> None:
    tokens = await token(success(expires_in=600, refresh_token="rt", scope="a b"))
    assert tokens == TokenSet("at", "agent_1", 1600.0, "rt", "a b")


async def test_token_type_is_case_insensitive_and_scope_defaults_to_the_request() -> None:
    tokens = await token(success(token_type="bearer"))
    assert (tokens.scope, tokens.expires_at, tokens.refresh_token) == ("a", None, None)


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer"},
        {"access_token": "at", "token_type": "DPoP"},
        {"access_token": "at"},
        {"access_token": 7, "token_type": "Bearer"},
    ],
)
async def test_unusable_success_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(TokenError):
        await token(json_response(200, body))


@pytest.mark.parametrize("expires_in", [True, -5, 0, "600"])
async def test_odd_expires_in_means_unknown_expiry(expires_in: Any) -> None:
    assert (await token(success(expires_in=expires_in))).expires_at is None


async def test_error_response_carries_the_code() -> None:
    with pytest.raises(TokenError) as refused:
        await token(json_response(400, {"error": "invalid_grant", "error_description": "gone"}))
    assert (refused.value.error, refused.value.description) == ("invalid_grant", "gone")
    assert refused.value.status_code == 400


async def test_non_json_error_has_no_code() -> None:
    with pytest.raises(TokenError) as refused:
        await token(httpx.Response(502, text="bad gateway"))
    assert (refused.value.error, refused.value.status_code) == (None, 502)


async def test_refresh_sends_resource_and_no_scope_and_takes_a_rotated_token() -> None:
    endpoint = Endpoint(success(refresh_token="rt-2", expires_in=60))
    old = TokenSet("at-1", "agent_1", 0.0, "rt-1", "a b")
    async with endpoint.http() as http:
        fresh = await refresh(http, TOKEN_ENDPOINT, PUBLIC, old, resource=RESOURCE, now=10.0)
    assert form_of(endpoint.seen[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
        "resource": RESOURCE,
        "client_id": "agent_1",
    }
    assert fresh == TokenSet("at", "agent_1", 70.0, "rt-2", "a b")


async def test_refresh_keeps_the_old_refresh_token_when_not_rotated() -> None:
    old = TokenSet("at-1", "agent_1", 0.0, "rt-1", "a")
    async with Endpoint(success(scope="a")).http() as http:
        fresh = await refresh(http, TOKEN_ENDPOINT, PUBLIC, old, resource=RESOURCE, now=0.0)
    assert fresh.refresh_token == "rt-1"


async def test_token_endpoint_redirect_is_not_followed() -> None:
    endpoint = Endpoint(httpx.Response(307, headers={"Location": "https://evil.test/token"}))
    async with endpoint.http() as http:
        with pytest.raises(TokenError):
            await request_token(http, TOKEN_ENDPOINT, PUBLIC, {"grant_type": "x"}, now=0.0)
    assert len(endpoint.seen) == 1


def test_expiry_with_skew() -> None:
    tokens = TokenSet("at", "c", expires_at=100.0)
    assert not tokens.expires_within(69.0, 30)
    assert tokens.expires_within(70.0, 30)
    assert not TokenSet("at", "c").expires_within(1e12, 30)


def test_token_set_round_trips_through_a_dict() -> None:
    tokens = TokenSet("at", "c", 1.5, "rt", "a b")
    assert TokenSet.from_dict(tokens.to_dict()) == tokens
