"""AgentAuth against a fake AS and RS: the whole loop of 401, discovery, registration, code +
PKCE, bearer use, refresh, step-up and their limits (C1..C11, P8)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from agent_support import (
    ISSUER,
    PRM_URL,
    REDIRECT_URI,
    RESOURCE,
    FakeWorld,
    form_of,
    server_metadata,
)

from warden.agent import (
    AgentAuth,
    AgentProfile,
    AuthorizationCodeFlow,
    AuthorizationError,
    ClientCredentials,
    ClientCredentialsFlow,
    FileTokenStorage,
    MemoryTokenStorage,
)

Agent = Callable[..., AgentAuth]


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture
async def agent(world: FakeWorld) -> AsyncIterator[Agent]:
    made: list[httpx.AsyncClient] = []

    def make(**kwargs: Any) -> AgentAuth:
        http = world.client()
        made.append(http)
        kwargs.setdefault("flow", AuthorizationCodeFlow(world.approve, REDIRECT_URI))
        return AgentAuth(kwargs.pop("flow"), http=http, clock=world.clock, **kwargs)

    yield make
    for http in made:
        await http.aclose()


async def call(world: FakeWorld, auth: AgentAuth, url: str = RESOURCE) -> httpx.Response:
    async with world.client(auth=auth) as client:
        return await client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})


async def test_401_discovery_registration_code_pkce_then_the_call(
    world: FakeWorld, agent: Agent
) -> None:
    response = await call(world, agent())
    assert response.status_code == 200, response.text
    assert world.paths() == [
        "POST /mcp",
        "GET /.well-known/oauth-protected-resource/mcp",
        "GET /.well-known/oauth-authorization-server",
        "POST /register",
        "POST /token",
        "POST /mcp",
    ]
    (asked,) = world.authorizations
    assert asked["resource"] == RESOURCE
    assert asked["scope"] == "read"  # C6: the PRM's scopes_supported
    assert asked["code_challenge_method"] == "S256"
    assert world.clients["dyn_1"]["application_type"] == "native"
    exchange = form_of(world.requests[4])
    assert exchange["resource"] == RESOURCE and exchange["client_id"] == "dyn_1"
    assert json.loads(world.requests[-1].content)["method"] == "ping"  # the body was replayed


async def test_c6_challenge_scope_wins_over_the_resource_metadata(
    world: FakeWorld, agent: Agent
) -> None:
    def challenge(request: httpx.Request) -> httpx.Response:
        if "authorization" in request.headers:
            return world._resource(request)
        header = f'Bearer resource_metadata="{PRM_URL}", scope="read extra"'
        return httpx.Response(401, headers={"WWW-Authenticate": header})

    world.overrides[RESOURCE] = challenge
    await call(world, agent())
    assert world.authorizations[0]["scope"] == "extra read"  # sorted


async def test_c6_no_scope_anywhere_sends_no_scope(world: FakeWorld, agent: Agent) -> None:
    del world.prm["scopes_supported"]
    world.needs["/mcp"] = ""
    await call(world, agent())
    assert "scope" not in world.authorizations[0]


async def test_later_calls_carry_the_token_without_discovery(
    world: FakeWorld, agent: Agent
) -> None:
    auth = agent()
    await call(world, auth)
    before = len(world.requests)
    response = await call(world, auth, RESOURCE + "/tools")
    assert response.status_code == 200
    assert world.paths()[before:] == ["POST /mcp/tools"]
    assert world.requests[-1].headers["authorization"].startswith("Bearer at-")


async def test_c10_token_only_in_the_header_and_only_for_its_resource(
    world: FakeWorld, agent: Agent
) -> None:
    auth = agent()
    await call(world, auth)
    world.overrides["https://rs.test/other"] = lambda r: httpx.Response(200)
    world.overrides["https://elsewhere.test/mcp"] = lambda r: httpx.Response(200)
    await call(world, auth, "https://rs.test/other")
    await call(world, auth, "https://elsewhere.test/mcp")
    assert "authorization" not in world.requests[-1].headers
    assert "authorization" not in world.requests[-2].headers
    tokens = set(world.access)
    assert not any(t in str(r.url) for r in world.requests for t in tokens)


async def test_tokens_are_refreshed_shortly_before_expiry(world: FakeWorld, agent: Agent) -> None:
    auth = agent()
    await call(world, auth)
    first_refresh = next(iter(world.refresh))
    world.clock.advance(world.ttl - 29)  # inside the 30-second skew
    before = len(world.requests)
    assert (await call(world, auth)).status_code == 200
    assert world.paths()[before:] == ["POST /token", "POST /mcp"]
    refresh = form_of(world.requests[before])
    assert refresh["grant_type"] == "refresh_token" and refresh["refresh_token"] == first_refresh
    assert refresh["resource"] == RESOURCE and "scope" not in refresh
    stored = await auth.storage.get_tokens(ISSUER, RESOURCE)
    assert stored is not None and stored.refresh_token != first_refresh  # rotated
    assert len(world.authorizations) == 1


async def test_401_invalid_token_refreshes(world: FakeWorld, agent: Agent) -> None:
    auth = agent()
    await call(world, auth)
    world.access.clear()  # the resource no longer accepts the token
    before = len(world.requests)
    assert (await call(world, auth)).status_code == 200
    assert world.paths()[before:] == [
        "POST /mcp",
        "GET /.well-known/oauth-protected-resource/mcp",
        "GET /.well-known/oauth-authorization-server",
        "POST /token",
        "POST /mcp",
    ]
    assert form_of(world.requests[-2])["grant_type"] == "refresh_token"
    assert len(world.authorizations) == 1


async def test_p8_invalid_grant_drops_tokens_and_authorizes_again(
    world: FakeWorld, agent: Agent
) -> None:
    auth = agent()
    await call(world, auth)
    world.refresh.clear()  # the grant was revoked
    world.clock.advance(world.ttl)
    assert (await call(world, auth)).status_code == 200
    assert len(world.authorizations) == 2
    assert len(world.clients) == 1  # the registration is still good


async def test_c7_step_up_asks_for_the_union(world: FakeWorld, agent: Agent) -> None:
    world.needs["/mcp/send"] = "send"
    auth = agent()
    await call(world, auth)
    response = await call(world, auth, RESOURCE + "/send")
    assert response.status_code == 200, response.text
    assert [a["scope"] for a in world.authorizations] == ["read", "read send"]
    assert response.json()["scope"] == "read send"
    assert (await call(world, auth)).status_code == 200  # and /mcp still works


async def test_authorizing_again_after_a_401_keeps_the_stepped_up_scope(
    world: FakeWorld, agent: Agent
) -> None:
    world.needs["/mcp/send"] = "send"
    auth = agent()
    await call(world, auth)
    await call(world, auth, RESOURCE + "/send")
    world.access.clear()
    world.refresh.clear()
    assert (await call(world, auth, RESOURCE + "/send")).status_code == 200
    assert [a["scope"] for a in world.authorizations] == ["read", "read send", "read send"]


async def test_c7_step_up_is_bounded(world: FakeWorld, agent: Agent) -> None:
    world.needs["/mcp/send"] = "send"
    world.grant_scope = lambda requested: "read"  # the person never grants send
    auth = agent(max_step_ups=2)
    await call(world, auth)
    response = await call(world, auth, RESOURCE + "/send")
    assert response.status_code == 403
    assert len(world.authorizations) == 1 + 2


async def test_no_step_up_for_a_scope_the_token_already_holds(
    world: FakeWorld, agent: Agent
) -> None:
    auth = agent()
    await call(world, auth)
    forbidden = 'Bearer error="insufficient_scope", scope="read"'
    world.overrides[RESOURCE + "/x"] = lambda r: httpx.Response(
        403, headers={"WWW-Authenticate": forbidden}
    )
    assert (await call(world, auth, RESOURCE + "/x")).status_code == 403
    assert len(world.authorizations) == 1


async def test_403_without_insufficient_scope_is_returned_as_is(
    world: FakeWorld, agent: Agent
) -> None:
    auth = agent()
    await call(world, auth)
    world.overrides[RESOURCE + "/x"] = lambda r: httpx.Response(403)
    assert (await call(world, auth, RESOURCE + "/x")).status_code == 403
    assert len(world.authorizations) == 1


async def test_a_freshly_authorized_token_that_is_refused_ends_the_attempt(
    world: FakeWorld, agent: Agent
) -> None:
    world.rotate = False
    world.overrides[RESOURCE] = lambda r: httpx.Response(
        401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{PRM_URL}"'}
    )
    response = await call(world, agent())
    assert response.status_code == 401
    assert len(world.authorizations) == 1  # the person is asked once, not in a loop


async def test_c11_resource_moving_to_another_server_registers_there(
    world: FakeWorld, agent: Agent
) -> None:
    auth = agent()
    await call(world, auth)
    world.issuer = "https://as2.test"
    world.metadata = server_metadata(world.issuer)
    world.prm["authorization_servers"] = [world.issuer]
    world.access.clear()
    assert (await call(world, auth)).status_code == 200
    assert world.paths("as2.test") == [
        "GET /.well-known/oauth-authorization-server",
        "POST /register",
        "POST /token",
    ]
    assert "refresh_token" not in [form_of(r).get("grant_type") for r in world.requests[-3:]]
    assert await auth.storage.get_client("https://as2.test") is not None


async def test_preregistered_client_for_this_issuer_skips_registration(
    world: FakeWorld, agent: Agent
) -> None:
    mine = ClientCredentials("static_1")
    await call(world, agent(profile=AgentProfile(preregistered={ISSUER: mine})))
    assert "POST /register" not in world.paths()
    assert world.authorizations[0]["client_id"] == "static_1"


async def test_concurrent_requests_share_one_authorization(world: FakeWorld, agent: Agent) -> None:
    auth = agent()
    statuses: list[int] = []
    async with world.client(auth=auth) as client:

        async def one() -> None:
            statuses.append((await client.get(RESOURCE)).status_code)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(one)
    assert statuses == [200] * 5
    assert len(world.authorizations) == 1 and len(world.clients) == 1


async def test_tokens_in_a_file_survive_a_restart(
    world: FakeWorld, agent: Agent, tmp_path: Path
) -> None:
    await call(world, agent(storage=FileTokenStorage(tmp_path / "tokens.json")))
    again = agent(storage=FileTokenStorage(tmp_path / "tokens.json"))
    assert (await call(world, again)).status_code == 200
    assert len(world.authorizations) == 1 and len(world.clients) == 1


async def test_authorization_failures_reach_the_caller(world: FakeWorld, agent: Agent) -> None:
    async def forged(url: str) -> str:
        return f"{REDIRECT_URI}?code=x&state=forged&iss={ISSUER}"

    with pytest.raises(AuthorizationError, match="state"):
        await call(world, agent(flow=AuthorizationCodeFlow(forged, REDIRECT_URI)))
    assert "POST /token" not in world.paths()


async def test_after_a_refusal_the_next_call_asks_again_for_the_resource_scopes(
    world: FakeWorld, agent: Agent
) -> None:
    answers = iter(["deny", "approve"])

    async def person(url: str) -> str:
        if next(answers) == "deny":
            return f"{REDIRECT_URI}?error=access_denied&state={query_state(url)}&iss={ISSUER}"
        return await world.approve(url)

    auth = agent(flow=AuthorizationCodeFlow(person, REDIRECT_URI))
    with pytest.raises(AuthorizationError) as refused:
        await call(world, auth)
    assert refused.value.error == "access_denied"
    assert (await call(world, auth)).status_code == 200
    assert world.authorizations[0]["scope"] == "read"
    assert world.paths("rs.test").count("GET /.well-known/oauth-protected-resource/mcp") == 1


def query_state(url: str) -> str:
    return str(httpx.URL(url).params["state"])


async def test_client_credentials_agent(world: FakeWorld, agent: Agent) -> None:
    mine = ClientCredentials("svc_1", "s3cret", "client_secret_basic")
    auth = agent(
        flow=ClientCredentialsFlow(),
        profile=AgentProfile(preregistered={ISSUER: mine}),
        storage=MemoryTokenStorage(),
    )
    assert (await call(world, auth)).status_code == 200
    token_request = world.requests[3]
    assert token_request.headers["authorization"].startswith("Basic ")
    assert form_of(token_request) == {
        "grant_type": "client_credentials",
        "resource": RESOURCE,
        "scope": "read",
    }
    world.clock.advance(world.ttl)  # no refresh token: simply a new one, before sending
    before = len(world.requests)
    assert (await call(world, auth)).status_code == 200
    assert world.paths()[before:] == ["POST /token", "POST /mcp"]


def test_sync_clients_are_refused(world: FakeWorld) -> None:
    auth = AgentAuth(AuthorizationCodeFlow(world.approve, REDIRECT_URI))
    with (
        httpx.Client(transport=world.transport(), auth=auth) as client,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        client.get(RESOURCE)
