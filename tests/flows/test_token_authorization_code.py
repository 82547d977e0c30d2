"""The authorization code grant at /token, end to end over the real app.

SEC-19..26 (codes), SEC-29 (grant types), SEC-36/37 (the access token), SEC-39 (transport),
SEC-117 (unexpected failures).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from helpers import VERIFIER as HELPER_VERIFIER
from helpers import add_user as add_person
from helpers import authorize_code
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from token_support import (
    REDIRECT_URI,
    RESOURCE,
    VERIFIER,
    add_client,
    add_user,
    basic,
    decode_jwt,
    issue_code,
    redeem,
    refresh,
    token_request,
)

from warden.clock import FrozenClock
from warden.oauth.grants import authorization_code
from warden.web.context import AppContext


@pytest.fixture
async def agent(ctx: AppContext) -> None:
    await add_client(ctx)
    await add_user(ctx)


async def introspect(client: httpx.AsyncClient, token: str, client_id: str = "agent_1") -> dict:
    response = await token_request(
        client, {"token": token}, headers=basic(client_id), path="/introspect"
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_browser_flow_tokens_verify_against_the_jwks(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    await add_client(ctx)
    person = await add_person(ctx)
    code, _ = await authorize_code(
        client, client_id="agent_1", scope="read:calendar", resource=RESOURCE
    )
    clock.advance(5)
    response = await token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": HELPER_VERIFIER,
            "redirect_uri": REDIRECT_URI,
        },
        headers=basic("agent_1"),
    )
    assert response.status_code == 200, response.text
    keys = KeySet.import_key_set((await client.get("/jwks.json")).json())
    claims = jwt.decode(response.json()["access_token"], keys, algorithms=["ES256"]).claims
    assert claims["sub"] == person.user_id
    assert claims["aud"] == RESOURCE
    assert claims["auth_time"] == int(clock.now()) - 5
    async with ctx.db.unit_of_work() as stores:
        consent = await stores.consents.get(person.user_id, "agent_1")
    assert consent is not None and consent.last_used_at == clock.now()
    assert (await refresh(client, response.json()["refresh_token"])).status_code == 200


@pytest.mark.usefixtures("agent")
async def test_sec_37_access_token_follows_rfc_9068(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, stored = await issue_code(ctx)
    response = await redeem(client, code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body.keys() == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "read:calendar"
    header, claims = decode_jwt(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] in ("ES256", "EdDSA")
    assert {"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} <= claims.keys()
    assert claims["iss"] == "https://warden.test"
    assert claims["exp"] - claims["iat"] == 600
    assert claims["client_id"] == "agent_1"
    assert claims["grant_id"] == stored.grant_id
    assert claims["auth_time"] == int(stored.auth_time)


@pytest.mark.usefixtures("agent")
async def test_sec_36_audience_is_exactly_the_authorized_resource(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    response = await redeem(client, code, resource=RESOURCE + "/")
    assert response.status_code == 200, response.text
    assert decode_jwt(response.json()["access_token"])[1]["aud"] == RESOURCE


@pytest.mark.usefixtures("agent")
async def test_sec_36_two_resources_are_invalid_target(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    response = await token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": VERIFIER,
            "resource": [RESOURCE, "https://other.example/mcp"],
        },
        headers=basic("agent_1"),
    )
    assert_error(response, 400, "invalid_target")


@pytest.mark.usefixtures("agent")
async def test_agent_for_a_person_carries_act_and_actor_type(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    claims = decode_jwt((await redeem(client, code)).json()["access_token"])[1]
    assert claims["sub"] == "usr_alice"
    assert claims["act"] == {"sub": "agent_1"}
    assert claims["actor_type"] == "agent"


async def test_a_persons_own_app_has_no_act(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await add_client(ctx, "app_1", kind="app")
    await add_user(ctx)
    code, _ = await issue_code(ctx, "app_1")
    claims = decode_jwt((await redeem(client, code, client_id="app_1")).json()["access_token"])[1]
    assert claims["sub"] == "usr_alice"
    assert "act" not in claims
    assert claims["actor_type"] == "human"


async def test_public_client_redeems_with_client_id_only(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "public_1", method="none", kind="app")
    await add_user(ctx)
    code, _ = await issue_code(ctx, "public_1")
    response = await token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": VERIFIER,
            "client_id": "public_1",
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert response.status_code == 200, response.text
    assert "refresh_token" in response.json()


@pytest.mark.usefixtures("agent")
async def test_no_resource_anywhere_gives_the_client_id_audience(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx, resources=())
    response = await redeem(client, code)
    assert response.status_code == 200, response.text
    assert decode_jwt(response.json()["access_token"])[1]["aud"] == "agent_1"


async def test_no_resource_uses_the_configured_default_audience(
    make_app, clock: FrozenClock
) -> None:
    app, ctx = await make_app(tokens={"default_audience": "https://api.example"})
    await add_client(ctx)
    await add_user(ctx)
    code, _ = await issue_code(ctx, resources=())
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://warden.test") as http:
        response = await redeem(http, code)
    assert decode_jwt(response.json()["access_token"])[1]["aud"] == "https://api.example"


@pytest.mark.usefixtures("agent")
async def test_sec_19_valid_replay_revokes_every_token_of_the_code(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    first = (await redeem(client, code)).json()
    assert (await introspect(client, first["access_token"]))["active"] is True

    assert_error(await redeem(client, code), 400, "invalid_grant")

    assert await introspect(client, first["access_token"]) == {"active": False}
    assert_error(await refresh(client, first["refresh_token"]), 400, "invalid_grant")


@pytest.mark.usefixtures("agent")
async def test_sec_19_invalid_replay_revokes_nothing(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    first = (await redeem(client, code)).json()

    assert_error(await redeem(client, code, verifier="w" * 50), 400, "invalid_grant")
    await add_client(ctx, "agent_2")
    assert_error(await redeem(client, code, client_id="agent_2"), 400, "invalid_grant")

    assert (await introspect(client, first["access_token"]))["active"] is True
    assert (await refresh(client, first["refresh_token"])).status_code == 200


@pytest.mark.usefixtures("agent")
async def test_sec_20_concurrent_redemptions_exactly_one_wins(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    responses = await asyncio.gather(*(redeem(client, code) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 19
    assert {r.json()["error"] for r in responses if r.status_code == 400} == {"invalid_grant"}


@pytest.mark.usefixtures("agent")
async def test_sec_21_code_is_bound_to_its_client(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "agent_2")
    code, _ = await issue_code(ctx)
    assert_error(await redeem(client, code, client_id="agent_2"), 400, "invalid_grant")


@pytest.mark.usefixtures("agent")
async def test_sec_22_wrong_verifier_is_invalid_grant(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    assert_error(await redeem(client, code, verifier="w" * 43), 400, "invalid_grant")


@pytest.mark.usefixtures("agent")
async def test_sec_22_missing_or_short_verifier_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    missing = await token_request(
        client, {"grant_type": "authorization_code", "code": code}, headers=basic("agent_1")
    )
    assert_error(missing, 400, "invalid_request")
    assert_error(await redeem(client, code, verifier="a" * 20), 400, "invalid_request")
    assert (await redeem(client, code)).status_code == 200


@pytest.mark.usefixtures("agent")
async def test_sec_23_code_without_challenge_is_invalid_grant(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx, verifier=None)
    assert_error(await redeem(client, code), 400, "invalid_grant")


@pytest.mark.usefixtures("agent")
async def test_sec_24_redirect_uri_must_match(client: httpx.AsyncClient, ctx: AppContext) -> None:
    code, _ = await issue_code(ctx)
    response = await redeem(client, code, redirect_uri=REDIRECT_URI + "2")
    assert_error(response, 400, "invalid_grant")
    assert (await redeem(client, code, redirect_uri=REDIRECT_URI)).status_code == 200


@pytest.mark.usefixtures("agent")
async def test_sec_25_expired_code_is_invalid_grant(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    code, _ = await issue_code(ctx)
    clock.advance(11 * 60)
    assert_error(await redeem(client, code), 400, "invalid_grant")


@pytest.mark.usefixtures("agent")
async def test_sec_26_resource_beyond_authorization_is_invalid_target(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx)
    response = await redeem(client, code, resource="https://other.example/mcp")
    assert_error(response, 400, "invalid_target")


@pytest.mark.usefixtures("agent")
async def test_sec_26_scope_beyond_consent_is_invalid_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    code, _ = await issue_code(ctx, scope="read:calendar:next-7-days")
    assert_error(await redeem(client, code, scope="read:calendar"), 400, "invalid_scope")
    narrower = await redeem(client, code, scope="read:calendar:next-7-days")
    assert narrower.status_code == 200


@pytest.mark.usefixtures("agent")
async def test_sec_29_password_and_unknown_grants_are_unsupported(
    client: httpx.AsyncClient,
) -> None:
    for grant_type in ("password", "implicit", "urn:example:unknown"):
        response = await token_request(
            client,
            {"grant_type": grant_type, "username": "a", "password": "b"},
            headers=basic("agent_1"),
        )
        assert_error(response, 400, "unsupported_grant_type")


async def test_sec_29_unregistered_grant_type_is_unauthorized_client(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, grant_types=("client_credentials",))
    await add_user(ctx)
    code, _ = await issue_code(ctx)
    assert_error(await redeem(client, code), 400, "unauthorized_client")


async def test_sec_39_token_endpoint_is_post_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/token", params={"grant_type": "client_credentials"})
    assert response.status_code == 405


@pytest.mark.usefixtures("agent")
async def test_sec_39_json_body_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/token", json={"grant_type": "client_credentials"}, headers=basic("agent_1")
    )
    assert_error(response, 400, "invalid_request")


async def test_missing_grant_type_is_invalid_request(client: httpx.AsyncClient) -> None:
    assert_error(await token_request(client, {}), 400, "invalid_request")


@pytest.mark.usefixtures("agent")
async def test_sec_117_unexpected_failure_is_a_bare_server_error(
    app: Starlette, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database at 10.0.0.5:5432 is on fire")

    monkeypatch.setattr(authorization_code, "start_grant", explode)
    code, _ = await issue_code(ctx)
    # Starlette re-raises after answering, for servers to log; the client sees only the answer.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://warden.test") as http:
        response = await redeem(http, code)
    assert response.status_code == 500
    assert response.json() == {"error": "server_error"}
    assert len(response.content) < 200
    assert b"10.0.0.5" not in response.content
