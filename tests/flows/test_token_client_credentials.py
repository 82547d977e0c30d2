"""The client credentials grant: an agent or service acting as itself (SEC-29, SEC-36, SEC-40)."""

from __future__ import annotations

import httpx
import pytest
from token_support import RESOURCE, add_client, basic, decode_jwt, token_request

from warden.web.context import AppContext

CC = "client_credentials"


async def cc(client: httpx.AsyncClient, client_id: str = "agent_1", **extra: str) -> httpx.Response:
    return await token_request(client, {"grant_type": CC, **extra}, headers=basic(client_id))


def assert_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


async def test_sec_40_agent_token_is_about_the_agent_itself(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, grant_types=(CC,))
    response = await cc(client, resource=RESOURCE)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert "refresh_token" not in body
    assert body["expires_in"] == ctx.settings.tokens.client_credentials_ttl_seconds
    header, claims = decode_jwt(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == claims["client_id"] == "agent_1"
    assert not claims["sub"].startswith("usr_")
    assert claims["actor_type"] == "agent"
    assert claims["aud"] == RESOURCE
    assert claims["scope"] == "read:calendar write:email:draft-only-no-send"
    for user_claim in ("act", "auth_time", "grant_id"):
        assert user_claim not in claims


async def test_service_acting_as_itself_is_marked_service(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "svc_1", kind="service", grant_types=(CC,), scope="read:calendar")
    claims = decode_jwt((await cc(client, "svc_1")).json()["access_token"])[1]
    assert claims["actor_type"] == "service"
    assert claims["aud"] == "svc_1"


async def test_scope_may_narrow_the_registered_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, grant_types=(CC,))
    response = await cc(client, scope="read:calendar:next-7-days")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "read:calendar:next-7-days"


async def test_scope_beyond_registration_is_invalid_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, grant_types=(CC,))
    assert_error(await cc(client, scope="write:email:send"), 400, "invalid_scope")


async def test_scope_the_catalogue_forbids_to_agents_is_invalid_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, grant_types=(CC,), scope="admin read:calendar")
    assert_error(await cc(client, scope="admin"), 400, "invalid_scope")


async def test_sec_29_public_client_may_not_use_client_credentials(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, "public_1", method="none", grant_types=(CC,))
    response = await token_request(client, {"grant_type": CC, "client_id": "public_1"})
    assert_error(response, 400, "unauthorized_client")


async def test_sec_29_client_not_registered_for_the_grant(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx)
    assert_error(await cc(client), 400, "unauthorized_client")


@pytest.mark.parametrize("resource", ["http://rs.example/mcp", "https://rs.example/#frag"])
async def test_bad_resource_is_invalid_target(
    client: httpx.AsyncClient, ctx: AppContext, resource: str
) -> None:
    await add_client(ctx, grant_types=(CC,))
    assert_error(await cc(client, resource=resource), 400, "invalid_target")
