"""Introspection (RFC 7662) and revocation (RFC 7009), end to end (SEC-41, issue 2 item 12)."""

from __future__ import annotations

import httpx
import pytest
from token_support import (
    RESOURCE,
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
from warden.web.context import AppContext


@pytest.fixture
async def tokens(client: httpx.AsyncClient, ctx: AppContext) -> dict:
    await add_client(ctx)
    await add_client(ctx, "agent_2")
    await add_user(ctx)
    code, _ = await issue_code(ctx)
    response = await redeem(client, code)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def introspect(
    client: httpx.AsyncClient, token: str, client_id: str = "agent_1", **extra: str
) -> httpx.Response:
    return await token_request(
        client, {"token": token, **extra}, headers=basic(client_id), path="/introspect"
    )


async def revoke(
    client: httpx.AsyncClient, token: str, client_id: str = "agent_1", **extra: str
) -> httpx.Response:
    return await token_request(
        client, {"token": token, **extra}, headers=basic(client_id), path="/revoke"
    )


async def test_active_access_token_is_described(client: httpx.AsyncClient, tokens: dict) -> None:
    response = await introspect(client, tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    claims = decode_jwt(tokens["access_token"])[1]
    assert body["active"] is True
    assert body["token_type"] == "Bearer"
    for name in (
        "scope",
        "client_id",
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "jti",
        "act",
        "actor_type",
    ):
        assert body[name] == claims[name], name
    assert body["aud"] == RESOURCE


async def test_active_refresh_token_is_described(client: httpx.AsyncClient, tokens: dict) -> None:
    body = (
        await introspect(client, tokens["refresh_token"], token_type_hint="refresh_token")
    ).json()
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == "agent_1"
    assert body["sub"] == "usr_alice"
    assert body["scope"] == "read:calendar"
    assert body["aud"] == RESOURCE


async def test_unknown_and_expired_tokens_are_inactive(
    client: httpx.AsyncClient, tokens: dict, clock: FrozenClock
) -> None:
    for token in ("garbage", "a.b.c", tokens["access_token"][:-4] + "AAAA"):
        assert (await introspect(client, token)).json() == {"active": False}
    clock.advance(601)
    assert (await introspect(client, tokens["access_token"])).json() == {"active": False}


async def test_used_refresh_token_is_inactive(client: httpx.AsyncClient, tokens: dict) -> None:
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200
    assert (await introspect(client, tokens["refresh_token"])).json() == {"active": False}


async def test_sec_41_introspection_needs_client_authentication(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    response = await token_request(client, {"token": tokens["access_token"]}, path="/introspect")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_sec_41_public_clients_may_not_introspect(
    client: httpx.AsyncClient, ctx: AppContext, tokens: dict
) -> None:
    await add_client(ctx, "public_1", method="none")
    response = await token_request(
        client, {"token": tokens["access_token"], "client_id": "public_1"}, path="/introspect"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_sec_41_foreign_tokens_introspect_inactive(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert (await introspect(client, token, "agent_2")).json() == {"active": False}


async def test_revoked_access_token_introspects_inactive(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    response = await revoke(client, tokens["access_token"], token_type_hint="access_token")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert (await introspect(client, tokens["access_token"])).json() == {"active": False}
    # The grant stays: the refresh token still works.
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_revoking_a_refresh_token_revokes_its_grant(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    assert (await revoke(client, tokens["refresh_token"])).status_code == 200
    assert (await introspect(client, tokens["access_token"])).json() == {"active": False}
    assert (await introspect(client, tokens["refresh_token"])).json() == {"active": False}
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_hint_is_only_a_hint(client: httpx.AsyncClient, tokens: dict) -> None:
    response = await revoke(client, tokens["refresh_token"], token_type_hint="access_token")
    assert response.status_code == 200
    assert (await refresh(client, tokens["refresh_token"])).status_code == 400
    other = await revoke(client, tokens["access_token"], token_type_hint="urn:x:unknown")
    assert other.status_code == 200


async def test_sec_41_foreign_revocation_has_no_effect(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    assert (await revoke(client, tokens["refresh_token"], "agent_2")).status_code == 200
    assert (await revoke(client, tokens["access_token"], "agent_2")).status_code == 200
    assert (await introspect(client, tokens["access_token"])).json()["active"] is True
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_unknown_token_revocation_is_200(client: httpx.AsyncClient, tokens: dict) -> None:
    assert (await revoke(client, "no-such-token")).status_code == 200


async def test_sec_41_revocation_needs_client_authentication(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    response = await token_request(client, {"token": tokens["refresh_token"]}, path="/revoke")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    wrong = await revoke(client, tokens["refresh_token"], "nobody")
    assert wrong.status_code == 401


async def test_public_client_revokes_with_its_client_id(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "public_1", method="none", kind="app")
    await add_user(ctx)
    code, _ = await issue_code(ctx, "public_1")
    issued = (
        await token_request(
            client,
            {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": "v" * 43 + "-._~0123456789",
                "client_id": "public_1",
            },
        )
    ).json()
    response = await token_request(
        client, {"token": issued["refresh_token"], "client_id": "public_1"}, path="/revoke"
    )
    assert response.status_code == 200
    again = await token_request(
        client,
        {
            "grant_type": "refresh_token",
            "refresh_token": issued["refresh_token"],
            "client_id": "public_1",
        },
    )
    assert again.json()["error"] == "invalid_grant"


async def test_missing_token_parameter_is_invalid_request(
    client: httpx.AsyncClient, tokens: dict
) -> None:
    for path in ("/introspect", "/revoke"):
        response = await token_request(client, {}, headers=basic("agent_1"), path=path)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"


async def test_endpoints_are_post_only(client: httpx.AsyncClient) -> None:
    for path in ("/introspect", "/revoke"):
        assert (await client.get(path)).status_code == 405
