"""Token exchange (RFC 8693) over the real app: delegation chains and their limits (SEC-94..99).

The cast: ``agent_1`` holds a token of alice's for ``RS1`` from the code flow (``act`` names
agent_1). ``agent_2`` serves RS1, ``agent_3`` serves RS2 and ``agent_4`` serves RS3
(``resource_servers``): each receives a token for its resource and exchanges it
to call the next one for alice. The clients some tests add (``agent_5``, ``svc_1``, ...) serve
RS1 too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from token_support import (
    RESOURCE,
    USER_ID,
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
from warden.oauth.model import Grant
from warden.web.context import AppContext

TX = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
REFRESH = "urn:ietf:params:oauth:token-type:refresh_token"
RS1 = RESOURCE
RS2 = "https://calendar.example/api"
RS3 = "https://mail.example/api"
RS4 = "https://drive.example/api"
SERVE_RS1 = ("agent_2", "agent_5", "agent_6", "svc_1", "dyn_1", "plain_1", "narrow_rs")
SERVERS = {**{name: [RS1] for name in SERVE_RS1}, "agent_3": [RS2], "agent_4": [RS3]}

AppFactory = Callable[..., Awaitable[tuple[Starlette, AppContext]]]


@pytest.fixture
async def app_ctx(make_app: AppFactory) -> tuple[Starlette, AppContext]:
    return await make_app(resource_servers=SERVERS)


@pytest.fixture
async def cast(ctx: AppContext) -> None:
    await _cast(ctx)


async def _cast(ctx: AppContext) -> None:
    await add_user(ctx)
    await add_client(ctx, "agent_1", grant_types=("authorization_code", "refresh_token", TX))
    for name in ("agent_2", "agent_3", "agent_4"):
        await add_client(ctx, name, grant_types=(TX, "client_credentials"))


@asynccontextmanager
async def other_app(make_app: AppFactory, **overrides: Any) -> AsyncIterator[AppClient]:
    """An app with other settings, its cast, and an HTTP client for it."""
    app, ctx = await make_app(**{"resource_servers": SERVERS, **overrides})
    await _cast(ctx)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://warden.test") as http:
        yield http, ctx


AppClient = tuple[httpx.AsyncClient, AppContext]


async def person_token(
    client: httpx.AsyncClient,
    ctx: AppContext,
    *,
    scope: str = "read:calendar",
    resource: str = RS1,
) -> dict[str, Any]:
    """alice's tokens for agent_1 from the code flow (sub alice, act agent_1)."""
    code, _ = await issue_code(ctx, "agent_1", scope=scope, resources=(resource,))
    response = await redeem(client, code)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def exchange(
    client: httpx.AsyncClient, subject_token: str, client_id: str = "agent_2", **extra: str
) -> httpx.Response:
    data = {
        "grant_type": TX,
        "subject_token": subject_token,
        "subject_token_type": ACCESS,
        **extra,
    }
    return await token_request(client, data, headers=basic(client_id))


async def exchanged(
    client: httpx.AsyncClient, subject_token: str, client_id: str = "agent_2", **extra: str
) -> str:
    response = await exchange(client, subject_token, client_id, **extra)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


def claims_of(token: str) -> dict[str, Any]:
    return decode_jwt(token)[1]


async def self_token(client: httpx.AsyncClient, client_id: str, **extra: str) -> str:
    """``client_id``'s own token as itself (client credentials)."""
    data = {"grant_type": "client_credentials", **extra}
    response = await token_request(client, data, headers=basic(client_id))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


# --- narrowing and the response ----------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_exchange_narrows_scope_for_another_resource(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    subject = claims_of(tokens["access_token"])
    response = await exchange(
        client, tokens["access_token"], scope="read:calendar:next-7-days", resource=RS2
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["issued_token_type"] == ACCESS
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read:calendar:next-7-days"
    assert "refresh_token" not in body
    header, claims = decode_jwt(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == USER_ID
    assert claims["client_id"] == "agent_2"
    assert claims["aud"] == RS2
    assert claims["scope"] == "read:calendar:next-7-days"
    assert claims["actor_type"] == "agent"
    assert claims["act"] == {"sub": "agent_2", "act": {"sub": "agent_1"}}
    assert claims["grant_id"] == subject["grant_id"]
    assert claims["auth_time"] == subject["auth_time"]
    assert "may_act" not in claims


@pytest.mark.usefixtures("cast")
async def test_absent_scope_is_the_subject_tokens_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx, scope="read:calendar write:email:draft-only-no-send")
    response = await exchange(client, tokens["access_token"], resource=RS2)
    assert response.json()["scope"] == "read:calendar write:email:draft-only-no-send"


@pytest.mark.usefixtures("cast")
async def test_audience_parameter_names_the_target_like_resource(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    token = await exchanged(client, tokens["access_token"], audience=RS2)
    assert claims_of(token)["aud"] == RS2


@pytest.mark.usefixtures("cast")
async def test_exchanged_token_is_live_at_introspection(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    token = await exchanged(client, tokens["access_token"], resource=RS2)
    body = (
        await token_request(client, {"token": token}, headers=basic("agent_2"), path="/introspect")
    ).json()
    assert body["active"] is True
    assert body["act"] == {"sub": "agent_2", "act": {"sub": "agent_1"}}
    assert body["actor_type"] == "agent"


# --- SEC-96: never wider -----------------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_sec_96_wider_scope_is_invalid_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    response = await exchange(
        client, tokens["access_token"], scope="read:calendar write:email:draft-only-no-send"
    )
    assert_error(response, 400, "invalid_scope")


@pytest.mark.usefixtures("cast")
async def test_sec_96_broader_scope_in_the_hierarchy_is_invalid_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx, scope="read:calendar:next-7-days")
    assert_error(
        await exchange(client, tokens["access_token"], scope="read:calendar"), 400, "invalid_scope"
    )


@pytest.mark.usefixtures("cast")
async def test_sec_96_scope_beyond_the_clients_registration_is_invalid_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "narrow_rs", grant_types=(TX,), scope="read:calendar:next-7-days")
    tokens = await person_token(client, ctx)
    response = await exchange(client, tokens["access_token"], "narrow_rs")
    assert_error(response, 400, "invalid_scope")


# --- chains (RFC 8693 §4.1) ----------------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_two_hops_nest_the_earlier_actors_inside_act(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    hop_1 = await exchanged(client, tokens["access_token"], "agent_2", resource=RS2)
    hop_2 = await exchanged(client, hop_1, "agent_3", resource=RS3)
    claims = claims_of(hop_2)
    assert claims["sub"] == USER_ID
    assert claims["client_id"] == "agent_3"
    assert claims["aud"] == RS3
    assert claims["act"] == {"sub": "agent_3", "act": {"sub": "agent_2", "act": {"sub": "agent_1"}}}


@pytest.mark.usefixtures("cast")
async def test_the_tokens_own_client_carries_on_without_a_new_hop(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    token = await exchanged(client, tokens["access_token"], "agent_1", resource=RS2)
    claims = claims_of(token)
    assert claims["act"] == {"sub": "agent_1"}
    assert claims["aud"] == RS2


async def test_a_service_acting_for_a_persons_own_app_is_the_only_actor(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_user(ctx)
    await add_client(ctx, "app_1", kind="app")
    await add_client(ctx, "svc_1", kind="service", grant_types=(TX,))
    code, _ = await issue_code(ctx, "app_1", resources=(RS1,))
    own = (await redeem(client, code, client_id="app_1")).json()["access_token"]
    assert "act" not in claims_of(own)
    claims = claims_of(await exchanged(client, own, "svc_1", resource=RS2))
    assert claims["sub"] == USER_ID
    assert claims["act"] == {"sub": "svc_1"}
    assert claims["actor_type"] == "service"


# --- SEC-97: depth and audience --------------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_sec_97_a_fourth_actor_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    hop_1 = await exchanged(client, tokens["access_token"], "agent_2", resource=RS2)
    hop_2 = await exchanged(client, hop_1, "agent_3", resource=RS3)
    assert _depth(claims_of(hop_2)["act"]) == 3
    assert_error(await exchange(client, hop_2, "agent_4", resource=RS4), 400, "invalid_request")


def _depth(act: dict[str, Any] | None) -> int:
    return 0 if act is None else 1 + _depth(act.get("act"))


async def test_sec_97_depth_limit_is_a_setting(make_app: AppFactory) -> None:
    async with other_app(make_app, exchange={"max_chain_depth": 1}) as (http, ctx):
        tokens = await person_token(http, ctx)
        assert_error(await exchange(http, tokens["access_token"]), 400, "invalid_request")
        # The token's own client adds no hop, so it may still exchange.
        assert (await exchange(http, tokens["access_token"], "agent_1")).status_code == 200


async def test_sec_97_audience_outside_the_clients_targets_is_invalid_target(
    make_app: AppFactory,
) -> None:
    async with other_app(make_app, exchange={"targets": {"agent_2": [RS2]}}) as (http, ctx):
        tokens = await person_token(http, ctx)
        response = await exchange(http, tokens["access_token"], resource="https://payments.example")
        assert_error(response, 400, "invalid_target")
        assert (await exchange(http, tokens["access_token"], resource=RS2)).status_code == 200


async def test_sec_97_unregistered_resource_is_invalid_target(make_app: AppFactory) -> None:
    async with other_app(make_app, resource_policy="registered") as (http, ctx):
        tokens = await person_token(http, ctx)
        response = await exchange(http, tokens["access_token"], resource="https://payments.example")
        assert_error(response, 400, "invalid_target")


@pytest.mark.usefixtures("cast")
async def test_sec_97_one_audience_per_token(client: httpx.AsyncClient, ctx: AppContext) -> None:
    tokens = await person_token(client, ctx)
    response = await exchange(client, tokens["access_token"], resource=RS2, audience=RS3)
    assert_error(response, 400, "invalid_target")
    response = await exchange(client, tokens["access_token"], audience="calendar")
    assert_error(response, 400, "invalid_target")


# --- SEC-98: who acts --------------------------------------------------------------------


async def may_act_token(ctx: AppContext, tokens: dict[str, Any], may_act: dict[str, str]) -> str:
    """agent_1's token re-signed by Warden with a ``may_act`` claim (RFC 8693 §4.4)."""
    claims = claims_of(tokens["access_token"])
    return ctx.access_tokens.issue(
        sub=claims["sub"],
        client_id=claims["client_id"],
        audience=claims["aud"],
        scope=claims["scope"],
        ttl_seconds=300,
        grant_id=claims["grant_id"],
        extra_claims={"act": claims["act"], "actor_type": "agent", "may_act": may_act},
    ).token


@pytest.mark.usefixtures("cast")
async def test_sec_98_may_act_refuses_another_actor(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "agent_6", grant_types=(TX,))
    subject = await may_act_token(ctx, await person_token(client, ctx), {"sub": "agent_6"})
    assert_error(await exchange(client, subject, "agent_2"), 400, "invalid_request")
    # The same decision with an actor_token: the claims decide, not which parameters were
    # sent (keycloak#52691).
    actor = await self_token(client, "agent_2")
    response = await exchange(
        client, subject, "agent_2", actor_token=actor, actor_token_type=ACCESS
    )
    assert_error(response, 400, "invalid_request")
    # The token's own client is no exception: may_act names the only actor.
    assert_error(await exchange(client, subject, "agent_1"), 400, "invalid_request")
    claims = claims_of(await exchanged(client, subject, "agent_6", resource=RS2))
    assert claims["act"] == {"sub": "agent_6", "act": {"sub": "agent_1"}}


@pytest.mark.usefixtures("cast")
async def test_sec_98_may_act_of_another_issuer_is_refused(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    may_act = {"sub": "agent_2", "iss": "https://elsewhere.example"}
    subject = await may_act_token(ctx, await person_token(client, ctx), may_act)
    assert_error(await exchange(client, subject), 400, "invalid_request")
    may_act["iss"] = ctx.settings.issuer
    subject = await may_act_token(ctx, await person_token(client, ctx), may_act)
    assert (await exchange(client, subject)).status_code == 200


@pytest.mark.usefixtures("cast")
async def test_sec_98_actor_token_is_the_clients_own(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    own = await self_token(client, "agent_2")
    ok = await exchange(client, tokens["access_token"], actor_token=own, actor_token_type=ACCESS)
    assert ok.status_code == 200, ok.text
    assert claims_of(ok.json()["access_token"])["act"]["sub"] == "agent_2"
    someone_else = await self_token(client, "agent_3")
    for actor in (someone_else, tokens["access_token"], "not-a-token"):
        response = await exchange(
            client, tokens["access_token"], actor_token=actor, actor_token_type=ACCESS
        )
        assert_error(response, 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_sec_98_actor_token_type_rules(client: httpx.AsyncClient, ctx: AppContext) -> None:
    tokens = await person_token(client, ctx)
    own = await self_token(client, "agent_2")
    for extra in (
        {"actor_token_type": ACCESS},
        {"actor_token": own},
        {"actor_token": own, "actor_token_type": REFRESH},
    ):
        assert_error(
            await exchange(client, tokens["access_token"], **extra), 400, "invalid_request"
        )


# --- SEC-95: the subject token -----------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_sec_95_refresh_token_type_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    response = await exchange(client, tokens["refresh_token"], subject_token_type=REFRESH)
    assert_error(response, 400, "invalid_request")
    response = await exchange(client, tokens["refresh_token"])
    assert_error(response, 400, "invalid_request")
    for token_type in ("urn:ietf:params:oauth:token-type:id_token", "access_token"):
        response = await exchange(client, tokens["access_token"], subject_token_type=token_type)
        assert_error(response, 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_sec_95_missing_subject_token_is_invalid_request(client: httpx.AsyncClient) -> None:
    data = {"grant_type": TX, "subject_token_type": ACCESS}
    assert_error(
        await token_request(client, data, headers=basic("agent_2")), 400, "invalid_request"
    )


@pytest.mark.usefixtures("cast")
async def test_sec_95_expired_subject_token_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    tokens = await person_token(client, ctx)
    clock.advance(ctx.settings.tokens.access_token_ttl_seconds)
    assert_error(await exchange(client, tokens["access_token"]), 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_sec_95_revoked_grant_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    revoked = await token_request(
        client, {"token": tokens["refresh_token"]}, headers=basic("agent_1"), path="/revoke"
    )
    assert revoked.status_code == 200
    assert_error(await exchange(client, tokens["access_token"]), 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_sec_95_revoked_access_token_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    await token_request(
        client, {"token": tokens["access_token"]}, headers=basic("agent_1"), path="/revoke"
    )
    assert_error(await exchange(client, tokens["access_token"]), 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_sec_95_token_of_another_issuer_or_forged_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    header, payload, signature = tokens["access_token"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert_error(await exchange(client, forged), 400, "invalid_request")
    assert_error(await exchange(client, "opaque-garbage"), 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_sec_95_token_for_another_resource_cannot_be_traded(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """agent_3 serves RS2; a token for RS1 that reached it is not its to exchange."""
    tokens = await person_token(client, ctx, resource=RS1)
    assert_error(await exchange(client, tokens["access_token"], "agent_3"), 400, "invalid_request")
    other = await person_token(client, ctx, resource="https://rs-other.example")
    assert_error(await exchange(client, other["access_token"], "agent_2"), 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_a_clients_token_as_itself_is_exchanged_by_that_client_alone(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    own = await self_token(client, "agent_3", resource=RS1)
    assert_error(await exchange(client, own, "agent_2"), 400, "invalid_request")
    claims = claims_of(await exchanged(client, own, "agent_3", resource=RS2))
    assert claims["sub"] == claims["client_id"] == "agent_3"
    assert claims["aud"] == RS2
    assert "act" not in claims
    assert "grant_id" not in claims


# --- SEC-94: who may exchange ------------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_sec_94_public_client_is_unauthorized_client(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "public_1", method="none", grant_types=(TX,))
    tokens = await person_token(client, ctx)
    data = {
        "grant_type": TX,
        "client_id": "public_1",
        "subject_token": tokens["access_token"],
        "subject_token_type": ACCESS,
    }
    assert_error(await token_request(client, data), 400, "unauthorized_client")


@pytest.mark.usefixtures("cast")
async def test_sec_94_self_registered_client_is_unauthorized_client(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "dyn_1", grant_types=(TX,), origin="dynamic")
    tokens = await person_token(client, ctx)
    assert_error(
        await exchange(client, tokens["access_token"], "dyn_1"), 400, "unauthorized_client"
    )


@pytest.mark.usefixtures("cast")
async def test_sec_94_client_without_the_grant_type_is_unauthorized_client(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "plain_1", grant_types=("client_credentials",))
    tokens = await person_token(client, ctx)
    response = await exchange(client, tokens["access_token"], "plain_1")
    assert_error(response, 400, "unauthorized_client")


@pytest.mark.usefixtures("cast")
async def test_sec_94_wrong_secret_is_invalid_client(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    data = {"grant_type": TX, "subject_token": tokens["access_token"], "subject_token_type": ACCESS}
    response = await token_request(client, data, headers=basic("agent_2", "wrong-secret"))
    assert_error(response, 401, "invalid_client")


@pytest.mark.usefixtures("cast")
async def test_unsupported_requested_token_type_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    response = await exchange(client, tokens["access_token"], requested_token_type=REFRESH)
    assert_error(response, 400, "invalid_request")
    response = await exchange(client, tokens["access_token"], requested_token_type=ACCESS)
    assert response.status_code == 200, response.text


# --- SEC-99: lifetime and refresh ----------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_sec_99_expires_with_the_subject_token_and_no_refresh_token(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    await add_client(ctx, "agent_5", grant_types=(TX, "refresh_token"))
    tokens = await person_token(client, ctx)
    subject = claims_of(tokens["access_token"])
    clock.advance(ctx.settings.tokens.access_token_ttl_seconds - 60)
    response = await exchange(client, tokens["access_token"], "agent_5")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    assert body["expires_in"] == 60
    assert claims_of(body["access_token"])["exp"] == subject["exp"]


@pytest.mark.usefixtures("cast")
async def test_sec_99_a_fractional_last_second_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    tokens = await person_token(client, ctx)
    clock.advance(ctx.settings.tokens.access_token_ttl_seconds - 0.5)
    assert_error(await exchange(client, tokens["access_token"]), 400, "invalid_request")


@pytest.mark.usefixtures("cast")
async def test_revoking_the_persons_grant_kills_the_exchanged_token(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await person_token(client, ctx)
    token = await exchanged(client, tokens["access_token"], resource=RS2)
    await token_request(
        client, {"token": tokens["refresh_token"]}, headers=basic("agent_1"), path="/revoke"
    )
    body = (
        await token_request(client, {"token": token}, headers=basic("agent_2"), path="/introspect")
    ).json()
    assert body == {"active": False}


async def test_refresh_tokens_where_policy_allows_keep_the_chain(
    make_app: AppFactory, clock: FrozenClock
) -> None:
    async with other_app(make_app, exchange={"refresh_tokens": True}) as (http, ctx):
        await add_client(ctx, "agent_5", grant_types=(TX, "refresh_token"))
        tokens = await person_token(http, ctx)
        # A client not registered for refresh_token still gets none.
        assert "refresh_token" not in (await exchange(http, tokens["access_token"])).json()
        body = (await exchange(http, tokens["access_token"], "agent_5", resource=RS2)).json()
        first = claims_of(body["access_token"])
        assert first["grant_id"] != claims_of(tokens["access_token"])["grant_id"]
        grant = await _grant(ctx, first["grant_id"])
        assert grant.kind == "token_exchange"
        assert grant.parent_grant_id == claims_of(tokens["access_token"])["grant_id"]
        clock.advance(ctx.settings.tokens.access_token_ttl_seconds + 1)
        renewed = await refresh(http, body["refresh_token"], client_id="agent_5")
        assert renewed.status_code == 200, renewed.text
        claims = claims_of(renewed.json()["access_token"])
        assert claims["sub"] == USER_ID
        assert claims["act"] == {"sub": "agent_5", "act": {"sub": "agent_1"}}
        assert claims["aud"] == RS2
        assert claims["scope"] == "read:calendar"
        # The person's grant ends: the delegated one ends with it.
        await token_request(
            http, {"token": tokens["refresh_token"]}, headers=basic("agent_1"), path="/revoke"
        )
        again = await refresh(http, renewed.json()["refresh_token"], client_id="agent_5")
        assert_error(again, 400, "invalid_grant")


async def _grant(ctx: AppContext, grant_id: str) -> Grant:
    async with ctx.db.unit_of_work() as stores:
        grant = await stores.grants.get(grant_id)
    assert grant is not None
    return grant


# --- audit -------------------------------------------------------------------------------


@pytest.mark.usefixtures("cast")
async def test_exchange_is_audited_with_the_chain(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    from sqlalchemy import text

    tokens = await person_token(client, ctx)
    token = await exchanged(client, tokens["access_token"], resource=RS2)
    async with ctx.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT client_id, user_id, actor_type, grant_id, data FROM audit_events "
                    "WHERE event = 'token.exchanged'"
                )
            )
        ).one()
    data = row.data if isinstance(row.data, dict) else json.loads(row.data)
    claims = claims_of(token)
    assert (row.client_id, row.user_id, row.actor_type) == ("agent_2", USER_ID, "agent")
    assert row.grant_id == claims["grant_id"]
    assert data["act"] == claims["act"]
    assert data["subject_jti"] == claims_of(tokens["access_token"])["jti"]
    assert data["jti"] == claims["jti"]
    assert data["grant_type"] == TX
    assert data["aud"] == RS2


@pytest.mark.usefixtures("cast")
async def test_malformed_or_too_deep_act_in_a_subject_token_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    claims = claims_of((await person_token(client, ctx))["access_token"])
    deep: dict[str, Any] = {"sub": "a"}
    for name in ("b", "c", "d"):
        deep = {"sub": name, "act": deep}
    for act in ("agent_1", {"act": {"sub": "agent_1"}}, {"sub": 7}, deep):
        token = ctx.access_tokens.issue(
            sub=claims["sub"],
            client_id="agent_1",
            audience=RS1,
            scope=claims["scope"],
            ttl_seconds=300,
            grant_id=claims["grant_id"],
            extra_claims={"act": act, "actor_type": "agent"},
        ).token
        assert_error(await exchange(client, token), 400, "invalid_request")


async def test_discovery_advertises_token_exchange(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert TX in doc["grant_types_supported"]
    openapi = (await client.get("/openapi.json")).json()
    form = openapi["paths"]["/token"]["post"]["requestBody"]["content"]
    fields = form["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert TX in fields["grant_type"]["enum"]
    assert {"subject_token", "subject_token_type", "actor_token", "audience"} <= fields.keys()
