"""Introspection for resource servers (RFC 7662 §4), and revocation reaching them at once.

A resource server's client, listed in ``resource_servers``, may introspect the tokens whose
``aud`` names a resource it serves, though they were issued to agents; anything else stays
``{"active": false}`` (SEC-41). So ``warden.resource.IntrospectionVerifier`` refuses an agent's
token as soon as the person revokes the agent on the connected-agents page (issue 4, item 7).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import token_support as ts
from helpers import VERIFIER, add_user, authorize_code, parse_form

from warden.clock import FrozenClock
from warden.resource import InvalidTokenError
from warden.resource.introspection import IntrospectionVerifier
from warden.web.context import AppContext

ISSUER = "https://warden.test"
AGENT, RS, OTHER_RS = "agent_1", "rs_calendar", "rs_other"
ELSEWHERE = "https://other.example/mcp"


@pytest.fixture
async def app_ctx(make_app: Any) -> tuple[Any, AppContext]:
    return await make_app(
        resource_servers={RS: [ts.RESOURCE + "/"], OTHER_RS: [ELSEWHERE]},
    )


@pytest.fixture(autouse=True)
async def seeded(ctx: AppContext) -> None:
    await add_user(ctx)
    await ts.add_client(ctx, AGENT)
    for rs in (RS, OTHER_RS, "unlisted"):
        await ts.add_client(ctx, rs, grant_types=("client_credentials",))


async def agent_tokens(client: httpx.AsyncClient, resource: str = ts.RESOURCE) -> dict[str, Any]:
    code, _ = await authorize_code(
        client, client_id=AGENT, scope="read:calendar", resource=resource
    )
    response = await ts.redeem(client, code, client_id=AGENT, verifier=VERIFIER)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def introspect(client: httpx.AsyncClient, token: str, caller: str) -> dict[str, Any]:
    response = await client.post("/introspect", data={"token": token}, headers=ts.basic(caller))
    assert response.status_code == 200
    return dict(response.json())


async def test_a_resource_server_sees_the_agent_tokens_for_its_resource(
    client: httpx.AsyncClient,
) -> None:
    tokens = await agent_tokens(client)
    body = await introspect(client, tokens["access_token"], RS)
    assert body["active"] is True
    assert body["client_id"] == AGENT and body["aud"] == ts.RESOURCE
    assert body["act"] == {"sub": AGENT} and body["actor_type"] == "agent"
    assert body["sub"].startswith("usr_")


async def test_sec_41_other_callers_still_learn_nothing(client: httpx.AsyncClient) -> None:
    tokens = await agent_tokens(client)
    assert await introspect(client, tokens["access_token"], OTHER_RS) == {"active": False}
    assert await introspect(client, tokens["access_token"], "unlisted") == {"active": False}


async def test_sec_41_a_resource_server_sees_no_token_for_another_resource(
    client: httpx.AsyncClient,
) -> None:
    tokens = await agent_tokens(client, resource=ELSEWHERE)
    assert await introspect(client, tokens["access_token"], RS) == {"active": False}
    assert (await introspect(client, tokens["access_token"], OTHER_RS))["active"] is True


async def test_sec_41_a_resource_server_never_sees_refresh_tokens(
    client: httpx.AsyncClient,
) -> None:
    tokens = await agent_tokens(client)
    assert await introspect(client, tokens["refresh_token"], RS) == {"active": False}


async def test_sec_41_serving_a_resource_does_not_allow_revoking_its_tokens(
    client: httpx.AsyncClient,
) -> None:
    tokens = await agent_tokens(client)
    response = await client.post(
        "/revoke", data={"token": tokens["access_token"]}, headers=ts.basic(RS)
    )
    assert response.status_code == 200
    assert (await introspect(client, tokens["access_token"], AGENT))["active"] is True


async def test_the_introspection_verifier_refuses_a_token_revoked_on_the_connections_page(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    tokens = await agent_tokens(client)
    verifier = IntrospectionVerifier(
        issuer=ISSUER,
        resource=ts.RESOURCE,
        client_id=RS,
        client_secret=ts.SECRET,
        http=client,
        clock=clock,
    )
    principal = await verifier.verify(tokens["access_token"])
    assert principal.is_agent and principal.client_id == AGENT

    page = await client.get("/account/connections")
    form = next(
        f
        for f in re.findall(r"<form [^>]*>.*?</form>", page.text, re.DOTALL)
        if f'name="client_id" value="{AGENT}"' in f
    )
    action, fields = parse_form(form)
    assert (await client.post(action, data=fields)).status_code == 303

    with pytest.raises(InvalidTokenError, match="inactive"):
        await verifier.verify(tokens["access_token"])
