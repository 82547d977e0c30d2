"""The connected-agents page and API (issue 4, item 7; SEC-70, SEC-65, SEC-72).

A person sees every agent and app acting for them and takes one back; every access and
refresh token of that client's grants for them dies at once: refresh is ``invalid_grant``
and introspection says ``active: false``. The account API does the same for a person's own
app, with a Warden access token for ``<issuer>/account``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import token_support as ts
from helpers import (
    PASSWORD,
    VERIFIER,
    add_user,
    audit_events,
    authorize_code,
    consent_page,
    parse_form,
)

from warden.clock import FrozenClock
from warden.web.context import AppContext

ISSUER = "https://warden.test"
ACCOUNT = f"{ISSUER}/account"
AGENT = "agent_1"
PORTAL = "portal"
AppFactory = Any


@pytest.fixture(autouse=True)
async def seeded(ctx: AppContext) -> None:
    await add_user(ctx)
    await add_user(ctx, "mallory", "mallory-password")
    await ts.add_client(
        ctx,
        AGENT,
        metadata={
            "client_name": "Calendar Agent",
            "client_uri": "https://app.example/",
            "software_id": "cal-agent",
            "software_version": "3.0",
        },
    )
    await ts.add_client(
        ctx,
        PORTAL,
        method="none",
        kind="app",
        scope="account:connections",
        metadata={"client_name": "Account Portal"},
    )


async def connect_agent(
    browser: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD
) -> dict[str, Any]:
    """The person approves the agent in ``browser``; the agent redeems the code."""
    code, _ = await authorize_code(
        browser,
        client_id=AGENT,
        scope="read:calendar",
        resource=ts.RESOURCE,
        username=username,
        password=password,
    )
    response = await ts.redeem(browser, code, client_id=AGENT, verifier=VERIFIER)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def introspect(client: httpx.AsyncClient, token: str, caller: str = AGENT) -> bool:
    response = await client.post("/introspect", data={"token": token}, headers=ts.basic(caller))
    assert response.status_code == 200
    return bool(response.json()["active"])


def revoke_form(page: httpx.Response, client_id: str) -> tuple[str, dict[str, str]]:
    """The revoke form of ``client_id``'s entry on the connections page."""
    for form in re.findall(r"<form [^>]*>.*?</form>", page.text, re.DOTALL):
        action, fields = parse_form(form)
        if fields.get("client_id") == client_id:
            return action, fields
    raise AssertionError(f"no revoke form for {client_id}")


async def user_id(ctx: AppContext, username: str = "alice") -> str:
    async with ctx.db.unit_of_work() as stores:
        user = await stores.users.get_by_username(username)
    assert user is not None
    return user.user_id


@pytest.fixture
async def other_browser(app: Any) -> Any:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as browser:
        yield browser


# -- the page ---------------------------------------------------------------------------------


async def test_the_page_lists_each_agent_with_what_it_may_do(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    await connect_agent(client)
    clock.advance(90)
    page = await client.get("/account/connections")
    assert page.status_code == 200
    text = page.text
    assert "Calendar Agent" in text and "AI agent" in text
    assert "app.example" in text and "cal-agent" in text and "version 3.0" in text
    assert "Verified: vouched for by your administrator" in text
    assert "Read your whole calendar" in text
    assert ts.RESOURCE in text
    assert "Allowed since" in text and "Last used" in text and " UTC" in text
    assert "Remove access" in text


async def test_sec_63_the_page_cannot_be_framed_or_cached(client: httpx.AsyncClient) -> None:
    page = await client.get("/account/connections")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in page.headers  # cookies: never CORS


async def test_a_stranger_signs_in_first_and_comes_back_to_the_list(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await client.get("/account/connections")
    assert 'name="password"' in page.text
    action, fields = parse_form(page.text)
    assert action == f"{ISSUER}/account/login"
    response = await client.post(action, data={**fields, "username": "alice", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == f"{ISSUER}/account/connections"
    listed = await client.get(response.headers["location"])
    assert "No agent or app can act for you right now" in listed.text
    assert ("login.succeeded", None, None) in await audit_events(ctx)


async def test_wrong_credentials_show_the_form_again(client: httpx.AsyncClient) -> None:
    page = await client.get("/account/connections")
    action, fields = parse_form(page.text)
    response = await client.post(action, data={**fields, "username": "alice", "password": "x"})
    assert response.status_code == 400
    assert "Wrong username or password." in response.text


async def test_sec_72_signing_in_starts_a_new_session(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    await connect_agent(other_browser)
    planted = other_browser.cookies["__Host-warden-session"]
    page = await client.get("/account/connections")
    action, fields = parse_form(page.text)
    client.cookies.set("__Host-warden-session", planted, domain="warden.test")
    await client.post(action, data={**fields, "username": "alice", "password": PASSWORD})
    assert client.cookies["__Host-warden-session"] != planted
    stale = await other_browser.get("/account/connections")
    assert 'name="password"' in stale.text  # the pre-login session id is dead


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_sec_65_sign_in_needs_the_cookie_bound_token(
    client: httpx.AsyncClient, token: str | None
) -> None:
    page = await client.get("/account/connections")
    action, _ = parse_form(page.text)
    data = {"username": "alice", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = await client.post(action, data=data)
    assert response.status_code == 403
    assert "__Host-warden-session" not in response.headers.get("set-cookie", "")


async def test_sec_65_sign_in_from_a_foreign_origin_is_refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/account/connections")
    action, fields = parse_form(page.text)
    response = await client.post(
        action,
        data={**fields, "username": "alice", "password": PASSWORD},
        headers={"Origin": "https://evil.test"},
    )
    assert response.status_code == 403


# -- revoking (SEC-70) ------------------------------------------------------------------------


async def test_sec_70_revoking_kills_refresh_and_introspection_at_once(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    tokens = await connect_agent(client)
    assert await introspect(client, tokens["access_token"])
    page = await client.get("/account/connections")
    action, fields = revoke_form(page, AGENT)

    response = await client.post(action, data=fields)

    assert response.status_code == 303
    assert response.headers["location"] == f"{ISSUER}/account/connections"
    refreshed = await ts.refresh(client, tokens["refresh_token"], client_id=AGENT)
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    assert not await introspect(client, tokens["access_token"])
    assert not await introspect(client, tokens["refresh_token"])
    assert "Calendar Agent" not in (await client.get("/account/connections")).text
    assert ("consent.revoked", AGENT, "human") in await audit_events(ctx)
    async with ctx.db.unit_of_work() as stores:
        assert await stores.consents.get(await user_id(ctx), AGENT) is None


async def test_after_revoking_the_agent_must_ask_again(client: httpx.AsyncClient) -> None:
    await connect_agent(client)
    page = await client.get("/account/connections")
    action, fields = revoke_form(page, AGENT)
    await client.post(action, data=fields)
    again = await consent_page(client, client_id=AGENT, scope="read:calendar", resource=ts.RESOURCE)
    assert "Calendar Agent" in again.text


async def test_revoking_takes_every_grant_of_the_client_for_this_person_only(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    first = await connect_agent(client)
    second = await connect_agent(client)  # a second grant: remembered consent, new code
    mallorys = await connect_agent(other_browser, "mallory", "mallory-password")
    page = await client.get("/account/connections")
    assert page.text.count("Remove access") == 1  # one connection, however many grants
    action, fields = revoke_form(page, AGENT)
    await client.post(action, data=fields)
    for tokens in (first, second):
        assert not await introspect(client, tokens["access_token"])
    assert await introspect(client, mallorys["access_token"])
    refreshed = await ts.refresh(client, mallorys["refresh_token"], client_id=AGENT)
    assert refreshed.status_code == 200


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_sec_65_revoke_needs_the_session_csrf_token(
    client: httpx.AsyncClient, token: str | None
) -> None:
    tokens = await connect_agent(client)
    page = await client.get("/account/connections")
    action, fields = revoke_form(page, AGENT)
    del fields["csrf_token"]
    if token is not None:
        fields["csrf_token"] = token
    response = await client.post(action, data=fields)
    assert response.status_code == 403
    assert await introspect(client, tokens["access_token"])


async def test_sec_65_revoke_from_a_foreign_origin_is_refused(client: httpx.AsyncClient) -> None:
    tokens = await connect_agent(client)
    page = await client.get("/account/connections")
    action, fields = revoke_form(page, AGENT)
    response = await client.post(action, data=fields, headers={"Origin": "https://evil.test"})
    assert response.status_code == 403
    assert await introspect(client, tokens["access_token"])


async def test_sec_65_another_sessions_token_does_not_revoke(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    tokens = await connect_agent(client)
    await connect_agent(other_browser, "mallory", "mallory-password")
    mallorys_page = await other_browser.get("/account/connections")
    _, mallorys_fields = revoke_form(mallorys_page, AGENT)
    action, fields = revoke_form(await client.get("/account/connections"), AGENT)
    response = await client.post(
        action, data={**fields, "csrf_token": mallorys_fields["csrf_token"]}
    )
    assert response.status_code == 403
    assert await introspect(client, tokens["access_token"])


async def test_revoking_when_signed_out_is_refused(client: httpx.AsyncClient) -> None:
    tokens = await connect_agent(client)
    action, fields = revoke_form(await client.get("/account/connections"), AGENT)
    client.cookies.clear()
    response = await client.post(action, data=fields)
    assert response.status_code == 403
    assert await introspect(client, tokens["access_token"])


async def test_the_sign_out_button_works_from_the_page(client: httpx.AsyncClient) -> None:
    await connect_agent(client)
    page = await client.get("/account/connections")
    forms = re.findall(r"<form [^>]*>.*?</form>", page.text, re.DOTALL)
    action, fields = parse_form(forms[-1])
    assert action == f"{ISSUER}/logout"
    response = await client.post(action, data=fields)
    assert response.status_code == 200 and "signed out" in response.text
    assert 'name="password"' in (await client.get("/account/connections")).text


# -- the account API --------------------------------------------------------------------------


async def portal_token(client: httpx.AsyncClient, **overrides: str) -> str:
    """A token of the person's own app for the account API (it is already signed in)."""
    params = {"client_id": PORTAL, "scope": "account:connections", "resource": ACCOUNT}
    params.update(overrides)
    code, _ = await authorize_code(
        client, client_id=params["client_id"], scope=params["scope"], resource=params["resource"]
    )
    response = await client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": VERIFIER,
            "client_id": params["client_id"],
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_api_lists_the_connections(client: httpx.AsyncClient) -> None:
    await connect_agent(client)
    token = await portal_token(client)
    response = await client.get("/account/api/connections", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    by_id = {c["client_id"]: c for c in response.json()["connections"]}
    agent = by_id[AGENT]
    assert agent["client_name"] == "Calendar Agent"
    assert agent["client_kind"] == "agent" and agent["verified"] is True
    assert agent["publisher"] == "app.example"
    assert (agent["software_id"], agent["software_version"]) == ("cal-agent", "3.0")
    assert agent["scopes"] == [
        {
            "scope": "read:calendar",
            "description": "Read your whole calendar",
            "sensitivity": "medium",
        }
    ]
    assert agent["resources"] == [ts.RESOURCE]
    assert isinstance(agent["granted_at"], int) and isinstance(agent["last_used_at"], int)
    assert by_id[PORTAL]["client_kind"] == "app"  # the portal itself is a connection too


async def test_sec_70_the_api_revokes_at_once(client: httpx.AsyncClient, ctx: AppContext) -> None:
    tokens = await connect_agent(client)
    token = await portal_token(client)
    response = await client.delete(f"/account/api/connections/{AGENT}", headers=bearer(token))
    assert response.status_code == 204
    refreshed = await ts.refresh(client, tokens["refresh_token"], client_id=AGENT)
    assert refreshed.json()["error"] == "invalid_grant"
    assert not await introspect(client, tokens["access_token"])
    listed = await client.get("/account/api/connections", headers=bearer(token))
    assert AGENT not in {c["client_id"] for c in listed.json()["connections"]}
    assert ("consent.revoked", AGENT, "human") in await audit_events(ctx)
    again = await client.delete(f"/account/api/connections/{AGENT}", headers=bearer(token))
    assert again.status_code == 204  # idempotent: there is still none


async def test_the_api_revokes_a_cimd_client_id_with_slashes(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    token = await portal_token(client)
    cimd_id = "https://agent.example/client.json"
    response = await client.delete(
        "/account/api/connections/" + httpx.URL(cimd_id).raw_path.decode(), headers=bearer(token)
    )
    assert response.status_code == 204


async def test_the_api_wants_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/api/connections")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    # RFC 6750 §3.1: no error code in the challenge when no credentials were sent.
    assert response.headers["www-authenticate"] == 'Bearer realm="warden-account"'


async def test_the_api_ignores_the_session_cookie(client: httpx.AsyncClient) -> None:
    await connect_agent(client)  # the browser is signed in
    response = await client.delete(f"/account/api/connections/{AGENT}")
    assert response.status_code == 401


async def test_sec_79_a_token_for_another_resource_is_invalid_here(
    client: httpx.AsyncClient,
) -> None:
    tokens = await connect_agent(client)
    response = await client.get("/account/api/connections", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_token_without_the_scope_is_insufficient(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await ts.add_client(ctx, "app_2", method="none", kind="app", scope=None)
    token = await portal_token(client, client_id="app_2", scope="read:calendar")
    response = await client.get("/account/api/connections", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="account:connections"' in challenge


async def test_a_service_acting_for_the_person_may_not_manage_connections(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Only the person's own app: a token with ``act`` is refused even with the scope."""
    await ts.add_client(ctx, "svc", kind="service", scope="account:connections")
    code, _ = await authorize_code(
        client, client_id="svc", scope="account:connections", resource=ACCOUNT
    )
    issued = await ts.redeem(client, code, client_id="svc", verifier=VERIFIER)
    token = issued.json()["access_token"]
    assert ts.decode_jwt(token)[1]["act"] == {"sub": "svc"}
    response = await client.get("/account/api/connections", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


async def test_agents_cannot_even_ask_for_the_account_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await ts.add_client(ctx, "agent_2", scope=None)
    response = await client.get(
        "/authorize",
        params={
            "response_type": "code",
            "client_id": "agent_2",
            "redirect_uri": ts.REDIRECT_URI,
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
            "scope": "account:connections",
        },
    )
    location = response.headers["location"]
    assert "error=invalid_scope" in location


async def test_a_revoked_portal_token_is_refused(client: httpx.AsyncClient) -> None:
    token = await portal_token(client)
    page = await client.get("/account/connections")
    action, fields = revoke_form(page, PORTAL)
    await client.post(action, data=fields)
    response = await client.get("/account/api/connections", headers=bearer(token))
    assert response.status_code == 401


async def test_portals_on_other_origins_may_call_the_api(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        f"/account/api/connections/{AGENT}",
        headers={
            "Origin": "https://portal.example",
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers


async def test_last_used_follows_the_agents_token_requests(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    tokens = await connect_agent(client)
    granted = int(clock.now())
    clock.advance(3600)
    assert (await ts.refresh(client, tokens["refresh_token"], client_id=AGENT)).status_code == 200
    token = await portal_token(client)
    listed = await client.get("/account/api/connections", headers=bearer(token))
    agent = next(c for c in listed.json()["connections"] if c["client_id"] == AGENT)
    assert agent["granted_at"] == granted
    assert agent["last_used_at"] == granted + 3600
