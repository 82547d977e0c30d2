"""warden.resource against the real Warden server: discovery, JWKS and tokens interoperate.

The verifier reaches Warden only through its public HTTP surface (RFC 8414 metadata, JWKS),
exactly as a resource server elsewhere would.
"""

from __future__ import annotations

import httpx
import pytest
from token_support import RESOURCE, add_client, add_user, basic, issue_code, redeem

from warden.clock import FrozenClock
from warden.resource import InvalidTokenError, TokenVerifier
from warden.web.context import AppContext

ISSUER = "https://warden.test"


async def test_client_credentials_token_verifies(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    await add_client(ctx, grant_types=("client_credentials",))
    response = await client.post(
        "/token",
        data={"grant_type": "client_credentials", "resource": RESOURCE},
        headers=basic("agent_1"),
    )
    assert response.status_code == 200, response.text
    verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=client, clock=clock)

    principal = await verifier.verify(response.json()["access_token"])

    assert principal.subject == principal.client_id == "agent_1"
    assert principal.kind == "client"  # SEC-87
    assert principal.actor_type == "agent"
    assert principal.scopes == {"read:calendar", "write:email:draft-only-no-send"}
    assert principal.issuer == ISSUER


async def test_user_token_carries_the_agent_as_actor(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    await add_client(ctx)
    await add_user(ctx)
    code, _ = await issue_code(ctx, scope="read:calendar")
    response = await redeem(client, code)
    assert response.status_code == 200, response.text
    verifier = TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=client, clock=clock)

    principal = await verifier.verify(response.json()["access_token"])

    assert principal.user_id == "usr_alice"
    assert principal.is_agent
    assert principal.actor is not None and principal.actor.subject == "agent_1"
    assert principal.has_scopes("read:calendar:next-7-days")


async def test_sec_79_warden_token_for_another_resource_is_refused(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    await add_client(ctx, grant_types=("client_credentials",))
    response = await client.post(
        "/token",
        data={"grant_type": "client_credentials", "resource": RESOURCE},
        headers=basic("agent_1"),
    )
    elsewhere = TokenVerifier(
        issuer=ISSUER, resource="https://other.example/mcp", http=client, clock=clock
    )

    with pytest.raises(InvalidTokenError, match="aud"):
        await elsewhere.verify(response.json()["access_token"])
