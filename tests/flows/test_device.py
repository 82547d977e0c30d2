"""The Device Authorization Grant (RFC 8628) over the real app: SEC-89..93, SEC-108, SEC-116.

The device is an httpx client polling ``/device_authorization`` and ``/token`` from one IP
address; the person is another httpx client (its own cookie jar and IP) that signs in on the
verification page, enters the code and decides. Time moves only with the FrozenClock.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from helpers import PASSWORD, add_user, audit_events, parse_form, submit
from sqlalchemy import text
from token_support import SECRET, basic, decode_jwt

from warden.clock import FrozenClock
from warden.oauth.device import USER_CODE_ALPHABET
from warden.oauth.model import Client, User
from warden.web.context import AppContext

ISSUER = "https://warden.test"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
RESOURCE = "https://rs.example/mcp"
FAST_LOGIN = {"argon2_memory_kib": 1024, "argon2_time_cost": 1}
AppFactory = Callable[..., Awaitable[tuple[Any, AppContext]]]
USER_CODE = re.compile(f"^[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}$")
PAGE_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
INVALID = "That code is not valid"


@pytest.fixture
async def app_ctx(make_app: AppFactory) -> tuple[Any, AppContext]:
    return await make_app(login=FAST_LOGIN)


async def add_device_client(
    ctx: AppContext, client_id: str = "cli_agent", **overrides: Any
) -> Client:
    """An operator-registered public agent that uses the device grant."""
    values: dict[str, Any] = {
        "client_id": client_id,
        "origin": "static",
        "kind": "agent",
        "token_endpoint_auth_method": "none",
        "redirect_uris": (),
        "grant_types": (DEVICE_CODE, "refresh_token"),
        "response_types": (),
        "scope": "read:calendar write:email:draft-only-no-send",
        "metadata": {"client_name": "Calendar CLI", "client_uri": "https://cli.example/"},
        "created_at": ctx.clock.now(),
    }
    values.update(overrides)
    client = Client(**values)
    async with ctx.db.unit_of_work() as stores:
        await stores.clients.add(client)
    return client


@pytest.fixture
async def alice(ctx: AppContext) -> User:
    await add_device_client(ctx)
    await add_device_client(ctx, "other_agent", metadata={"client_name": "Other"})
    await add_user(ctx, "mallory", "mallory-password")
    return await add_user(ctx)


@pytest.fixture
async def browser(app: Any, alice: User) -> AsyncIterator[httpx.AsyncClient]:
    """The person's browser: its own cookie jar, on another IP address than the device."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as c:
        yield c


@pytest.fixture
async def signed_in(browser: httpx.AsyncClient) -> httpx.AsyncClient:
    await sign_in(browser)
    return browser


# -- the device and the person ----------------------------------------------------------------


async def start(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    data = {"client_id": "cli_agent", "scope": "read:calendar", "resource": RESOURCE, **form}
    return await client.post("/device_authorization", data={k: v for k, v in data.items() if v})


async def started(client: httpx.AsyncClient, **form: str) -> dict[str, Any]:
    response = await start(client, **form)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def poll(
    client: httpx.AsyncClient, device_code: str, client_id: str = "cli_agent"
) -> httpx.Response:
    data = {"grant_type": DEVICE_CODE, "device_code": device_code, "client_id": client_id}
    return await client.post("/token", data=data)


def assert_error(response: httpx.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def sign_in(
    browser: httpx.AsyncClient,
    page: httpx.Response | None = None,
    username: str = "alice",
    password: str = PASSWORD,
) -> httpx.Response:
    """Sign in on the verification page; returns the page the sign-in lands on."""
    page = page or await browser.get("/device")
    assert 'name="password"' in page.text, page.text[:2000]
    response = await submit(browser, page, username=username, password=password)
    assert response.status_code == 303, response.text
    return await browser.get(response.headers["location"])


async def enter(browser: httpx.AsyncClient, user_code: str) -> httpx.Response:
    """Type ``user_code`` into the code form of the verification page."""
    page = await browser.get("/device")
    assert 'name="user_code"' in page.text, page.text[:2000]
    return await submit(browser, page, user_code=user_code)


async def decide(
    browser: httpx.AsyncClient, confirm: httpx.Response, decision: str
) -> httpx.Response:
    assert 'name="decision"' in confirm.text, confirm.text[:2000]
    return await submit(browser, confirm, decision=decision)


async def approved(browser: httpx.AsyncClient, user_code: str) -> httpx.Response:
    done = await decide(browser, await enter(browser, user_code), "approve")
    assert done.status_code == 200, done.text
    assert "Device connected" in done.text
    return done


# -- RFC 8628 §3.1, §3.2: the device authorization endpoint -----------------------------------


async def test_device_authorization_response(client: httpx.AsyncClient, alice: User) -> None:
    response = await start(client)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert USER_CODE.match(body["user_code"])
    assert body["verification_uri"] == f"{ISSUER}/device"
    assert body["verification_uri_complete"] == f"{ISSUER}/device?user_code={body['user_code']}"
    assert body["expires_in"] == 600
    assert body["interval"] == 5


async def test_device_authorization_checks_the_request(
    client: httpx.AsyncClient, ctx: AppContext, alice: User
) -> None:
    await add_device_client(ctx, "no_device", grant_types=("authorization_code",))
    assert_error(await start(client, client_id="nope"), "invalid_client", 401)
    assert_error(await start(client, client_id="no_device"), "unauthorized_client")
    assert_error(await start(client, scope="write:email:send"), "invalid_scope")
    assert_error(await start(client, scope="no-such-scope"), "invalid_scope")
    assert_error(await start(client, resource="http://rs.example/mcp"), "invalid_target")
    twice = await client.post(
        "/device_authorization",
        content="client_id=cli_agent&scope=read:calendar&scope=read:calendar",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(twice, "invalid_request")


async def test_confidential_client_authenticates_as_at_the_token_endpoint(
    client: httpx.AsyncClient, ctx: AppContext, alice: User
) -> None:
    await add_device_client(
        ctx,
        "backend_agent",
        token_endpoint_auth_method="client_secret_basic",
        secret_hash=ctx.hasher.digest(SECRET),
    )
    data = {"scope": "read:calendar"}
    ok = await client.post("/device_authorization", data=data, headers=basic("backend_agent"))
    assert ok.status_code == 200, ok.text
    wrong = await client.post(
        "/device_authorization", data=data, headers=basic("backend_agent", "wrong")
    )
    assert_error(wrong, "invalid_client", 401)
    public = await client.post("/device_authorization", data={**data, "client_id": "backend_agent"})
    assert_error(public, "invalid_client", 401)


# -- the whole flow ----------------------------------------------------------------------------


async def test_device_flow_end_to_end(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    ctx: AppContext,
    clock: FrozenClock,
    alice: User,
) -> None:
    device = await started(client)
    assert_error(await poll(client, device["device_code"]), "authorization_pending")

    # The person opens verification_uri, signs in, types the code as they like, and confirms.
    page = await browser.get(device["verification_uri"])
    assert page.status_code == 200
    assert 'name="user_code"' not in page.text  # sign in first
    code_form = await sign_in(browser, page)
    assert 'name="user_code"' in code_form.text
    typed = device["user_code"].replace("-", " ").lower()
    confirm = await submit(browser, code_form, user_code=typed)
    assert confirm.status_code == 200
    for words in (
        "Calendar CLI",
        "AI agent",
        "A device is being connected",
        device["user_code"],
        "Read your whole calendar",
        "cli.example",
        RESOURCE,
    ):
        assert words in confirm.text, words
    clock.advance(5)
    assert_error(await poll(client, device["device_code"]), "authorization_pending")
    done = await decide(browser, confirm, "approve")
    assert done.status_code == 200 and "Device connected" in done.text

    clock.advance(5)
    tokens = await poll(client, device["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read:calendar"
    assert body["refresh_token"]
    _, claims = decode_jwt(body["access_token"])
    assert claims["sub"] == alice.user_id
    assert claims["act"] == {"sub": "cli_agent"}
    assert claims["actor_type"] == "agent"
    assert claims["client_id"] == "cli_agent"
    assert claims["aud"] == RESOURCE
    assert claims["auth_time"] == int(clock.now()) - 10
    async with ctx.db.unit_of_work() as stores:
        grant = await stores.grants.get(claims["grant_id"])
    assert grant is not None
    assert (grant.kind, grant.user_id, grant.client_id) == (
        "device_code",
        alice.user_id,
        "cli_agent",
    )

    events = [(e, c, a) for e, c, a in await audit_events(ctx) if e.startswith(("device", "tok"))]
    assert events == [
        ("device.requested", "cli_agent", "agent"),
        ("device.authorized", "cli_agent", "agent"),
        ("token.issued", "cli_agent", "agent"),
    ]

    # The refresh token works like any other.
    refreshed = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": "cli_agent",
        },
    )
    assert refreshed.status_code == 200, refreshed.text


async def test_sign_in_from_verification_uri_complete_returns_to_the_code(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    device = await started(client)
    page = await browser.get(device["verification_uri_complete"])
    assert 'name="password"' in page.text
    confirm = await sign_in(browser, page)
    assert 'name="decision"' in confirm.text
    assert device["user_code"] in confirm.text


async def test_device_code_is_single_use(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, clock: FrozenClock
) -> None:
    device = await started(client)
    await approved(signed_in, device["user_code"])
    assert (await poll(client, device["device_code"])).status_code == 200
    clock.advance(5)
    assert_error(await poll(client, device["device_code"]), "invalid_grant")


async def test_denied_device_gets_access_denied(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    device = await started(client)
    done = await decide(signed_in, await enter(signed_in, device["user_code"]), "deny")
    assert done.status_code == 200
    assert "Device not connected" in done.text
    assert_error(await poll(client, device["device_code"]), "access_denied")
    assert ("device.denied", "cli_agent", "agent") in await audit_events(ctx)


async def test_unknown_device_code_is_invalid_grant(client: httpx.AsyncClient, alice: User) -> None:
    assert_error(await poll(client, "not-a-device-code"), "invalid_grant")
    missing = await client.post(
        "/token", data={"grant_type": DEVICE_CODE, "client_id": "cli_agent"}
    )
    assert_error(missing, "invalid_request")


# -- SEC-89: user codes ------------------------------------------------------------------------


async def test_sec_89_used_and_expired_codes_get_the_invalid_page(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, clock: FrozenClock
) -> None:
    used = await started(client)
    await approved(signed_in, used["user_code"])
    again = await enter(signed_in, used["user_code"])
    assert again.status_code == 400
    assert INVALID in again.text
    assert 'name="decision"' not in again.text

    stale = await started(client)
    clock.advance(11 * 60)
    expired = await enter(signed_in, stale["user_code"])
    assert expired.status_code == 400
    assert INVALID in expired.text


async def test_sec_89_codes_are_compared_without_case_or_separators(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    device = await started(client)
    raw = device["user_code"].replace("-", "")
    for typed in (raw.lower(), f" {raw[:4]} - {raw[4:]} ", raw):
        page = await enter(signed_in, typed)
        assert page.status_code == 200, typed
        assert device["user_code"] in page.text


async def test_sec_89_code_lifetime_is_capped_at_ten_minutes(make_settings: Any) -> None:
    with pytest.raises(ValueError, match="device"):
        make_settings(device={"code_ttl_seconds": 601})


# -- SEC-90: brute force -----------------------------------------------------------------------


async def test_sec_90_sixth_wrong_code_from_one_session_is_429(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    device = await started(client)
    for guess in ("BBBB-BBBB", "CCCC-CCCC", "DDDD-DDDD", "FFFF-FFFF", "GGGG-GGGG"):
        page = await enter(signed_in, guess)
        assert page.status_code == 400
        assert INVALID in page.text
    limited = await enter(signed_in, "HHHH-HHHH")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["x-frame-options"] == "DENY"
    # The right code is refused too, while the budget is spent.
    right = await enter(signed_in, device["user_code"])
    assert right.status_code == 429
    assert device["user_code"] not in right.text


async def test_sec_90_wrong_and_expired_codes_look_the_same(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, clock: FrozenClock
) -> None:
    device = await started(client)
    clock.advance(601)
    expired = await enter(signed_in, device["user_code"])
    wrong = await enter(signed_in, "BBBB-BBBB")
    malformed = await enter(signed_in, "AEIOU-1234")
    assert expired.status_code == wrong.status_code == malformed.status_code == 400
    assert expired.text == wrong.text == malformed.text


async def test_sec_90_attempts_are_limited_per_ip_and_globally(make_app: AppFactory) -> None:
    app, ctx = await make_app(login=FAST_LOGIN, device={"attempts_per_ip": 2})
    await add_user(ctx)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50001))
    first, second = (httpx.AsyncClient(transport=transport, base_url=ISSUER) for _ in range(2))
    async with first, second:
        await sign_in(first)
        await sign_in(second)
        assert (await enter(first, "BBBB-BBBB")).status_code == 400
        assert (await enter(first, "CCCC-CCCC")).status_code == 400
        # Another session from the same address shares the address's budget.
        assert (await enter(second, "DDDD-DDDD")).status_code == 429

    app, ctx = await make_app(login=FAST_LOGIN, device={"attempts_global": 1})
    await add_user(ctx, "bob")
    near = httpx.ASGITransport(app=app, client=("198.51.100.9", 50001))
    far = httpx.ASGITransport(app=app, client=("192.0.2.44", 50001))
    async with (
        httpx.AsyncClient(transport=near, base_url=ISSUER) as one,
        httpx.AsyncClient(transport=far, base_url=ISSUER) as other,
    ):
        await sign_in(one, username="bob")
        await sign_in(other, username="bob")
        assert (await enter(one, "BBBB-BBBB")).status_code == 400
        assert (await enter(other, "CCCC-CCCC")).status_code == 429


# -- SEC-91: device codes ----------------------------------------------------------------------


async def test_sec_91_device_code_is_long_and_bound_to_its_client(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    device = await started(client)
    assert len(device["device_code"]) >= 22  # ≥ 128 bits of base64url
    await approved(signed_in, device["user_code"])
    assert_error(await poll(client, device["device_code"], "other_agent"), "invalid_grant")
    # The rightful client still gets its tokens.
    assert (await poll(client, device["device_code"])).status_code == 200


async def test_sec_91_polling_faster_than_the_interval_is_slow_down(
    client: httpx.AsyncClient, clock: FrozenClock, alice: User
) -> None:
    device = await started(client)
    assert_error(await poll(client, device["device_code"]), "authorization_pending")
    clock.advance(1)
    slow = await poll(client, device["device_code"])
    assert_error(slow, "slow_down")
    assert "10 seconds" in slow.json()["error_description"]
    # RFC 8628 §3.5: the interval grew by 5 s for every later request too.
    clock.advance(6)
    assert_error(await poll(client, device["device_code"]), "slow_down")
    clock.advance(15)
    assert_error(await poll(client, device["device_code"]), "authorization_pending")


async def test_sec_91_expired_device_code_is_expired_token(
    client: httpx.AsyncClient, clock: FrozenClock, alice: User
) -> None:
    device = await started(client)
    clock.advance(600)
    assert_error(await poll(client, device["device_code"]), "expired_token")


# -- SEC-92: remote phishing -------------------------------------------------------------------


async def test_sec_92_verification_uri_complete_never_approves(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    device = await started(client)
    confirm = await signed_in.get(device["verification_uri_complete"])
    assert confirm.status_code == 200
    assert 'name="decision" value="approve"' in confirm.text
    assert "A device is being connected" in confirm.text
    assert device["user_code"] in confirm.text
    assert_error(await poll(client, device["device_code"]), "authorization_pending")
    assert not [e for e, _, _ in await audit_events(ctx) if e == "device.authorized"]


async def test_sec_92_self_registered_clients_are_refused_by_default(
    client: httpx.AsyncClient, make_app: AppFactory, alice: User
) -> None:
    metadata = {
        "client_name": "Registered CLI",
        "token_endpoint_auth_method": "none",
        "grant_types": [DEVICE_CODE, "refresh_token"],
        "scope": "read:calendar",
    }
    registered = await client.post("/register", json=metadata)
    assert registered.status_code == 201, registered.text
    refused = await start(client, client_id=registered.json()["client_id"])
    assert_error(refused, "unauthorized_client")

    app, _ = await make_app(device={"allow_self_registered_clients": True})
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as other:
        registered = await other.post("/register", json=metadata)
        allowed = await start(other, client_id=registered.json()["client_id"])
    assert allowed.status_code == 200, allowed.text


async def test_sec_92_self_registered_client_is_shown_unverified(
    make_app: AppFactory,
) -> None:
    app, ctx = await make_app(login=FAST_LOGIN, device={"allow_self_registered_clients": True})
    await add_user(ctx)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as agent:
        registered = await agent.post(
            "/register",
            json={
                "client_name": "<b>Totally Your Bank</b>",
                "token_endpoint_auth_method": "none",
                "grant_types": [DEVICE_CODE],
            },
        )
        device = await started(agent, client_id=registered.json()["client_id"], resource="")
        await sign_in(agent)
        confirm = await enter(agent, device["user_code"])
    assert "unverified" in confirm.text
    assert "&lt;b&gt;Totally Your Bank&lt;/b&gt;" in confirm.text
    assert "<b>Totally" not in confirm.text


# -- SEC-93, SEC-65: the approval --------------------------------------------------------------


async def test_sec_93_concurrent_approvals_have_one_winner(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    device = await started(client)
    confirm = await enter(signed_in, device["user_code"])
    action, data = parse_form(confirm.text)
    responses = await asyncio.gather(
        *(signed_in.post(action, data={**data, "decision": "approve"}) for _ in range(5))
    )
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400, 400]
    events = [e for e, _, _ in await audit_events(ctx) if e == "device.authorized"]
    assert events == ["device.authorized"]


async def test_sec_93_approve_and_deny_race_has_one_outcome(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    device = await started(client)
    confirm = await enter(signed_in, device["user_code"])
    action, data = parse_form(confirm.text)
    approve, deny = await asyncio.gather(
        signed_in.post(action, data={**data, "decision": "approve"}),
        signed_in.post(action, data={**data, "decision": "deny"}),
    )
    assert sorted([approve.status_code, deny.status_code]) == [200, 400]
    answer = await poll(client, device["device_code"])
    if approve.status_code == 200:
        assert answer.status_code == 200
    else:
        assert_error(answer, "access_denied")


async def test_sec_93_approval_without_a_valid_csrf_token_is_403(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    device = await started(client)
    confirm = await enter(signed_in, device["user_code"])
    action, data = parse_form(confirm.text)
    approve = {**data, "decision": "approve"}
    no_token = {k: v for k, v in approve.items() if k != "csrf_token"}
    assert (await signed_in.post(action, data=no_token)).status_code == 403
    wrong = {**approve, "csrf_token": "0" * 64}
    assert (await signed_in.post(action, data=wrong)).status_code == 403
    # A token made for another code is no good for this one.
    other = await started(client)
    other_confirm = await enter(signed_in, other["user_code"])
    _, other_data = parse_form(other_confirm.text)
    swapped = {**approve, "csrf_token": other_data["csrf_token"]}
    assert (await signed_in.post(action, data=swapped)).status_code == 403
    assert_error(await poll(client, device["device_code"]), "authorization_pending")


async def test_sec_93_approval_is_bound_to_the_session_that_saw_the_code(
    app: Any, client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    device = await started(client)
    confirm = await enter(signed_in, device["user_code"])
    action, data = parse_form(confirm.text)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.66", 50002))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as attacker:
        await sign_in(attacker, username="mallory", password="mallory-password")
        stolen = await attacker.post(action, data={**data, "decision": "approve"})
    assert stolen.status_code == 403
    assert_error(await poll(client, device["device_code"]), "authorization_pending")


async def test_sec_93_approval_binds_the_grant_to_the_approver(
    app: Any, client: httpx.AsyncClient, ctx: AppContext, alice: User
) -> None:
    device = await started(client)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.66", 50002))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as mallory:
        await sign_in(mallory, username="mallory", password="mallory-password")
        await approved(mallory, device["user_code"])
    tokens = (await poll(client, device["device_code"])).json()
    _, claims = decode_jwt(tokens["access_token"])
    async with ctx.db.unit_of_work() as stores:
        mallory_user = await stores.users.get_by_username("mallory")
    assert mallory_user is not None
    assert claims["sub"] == mallory_user.user_id


async def test_sec_65_device_posts_need_our_origin_and_csrf(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient
) -> None:
    device = await started(client)
    confirm = await enter(signed_in, device["user_code"])
    action, data = parse_form(confirm.text)
    evil = {"Origin": "https://evil.test"}
    foreign = await signed_in.post(action, data={**data, "decision": "approve"}, headers=evil)
    assert foreign.status_code == 403
    code_page = await signed_in.get("/device")
    code_action, code_data = parse_form(code_page.text)
    entry = {**code_data, "user_code": device["user_code"]}
    assert (await signed_in.post(code_action, data=entry, headers=evil)).status_code == 403
    no_csrf = {"user_code": device["user_code"]}
    assert (await signed_in.post(code_action, data=no_csrf)).status_code == 403
    # Browsers send "Origin: null" for our own forms under Referrer-Policy: no-referrer.
    own = await signed_in.post(
        action, data={**data, "decision": "approve"}, headers={"Origin": "null"}
    )
    assert own.status_code == 200


async def test_sec_65_device_sign_in_needs_its_csrf_cookie(
    app: Any, browser: httpx.AsyncClient
) -> None:
    page = await browser.get("/device")
    action, data = parse_form(page.text)
    creds = {**data, "username": "alice", "password": PASSWORD}
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as stranger:
        forged = await stranger.post(action, data=creds)  # the token without its cookie
    assert forged.status_code == 403
    assert (await browser.post(action, data={**creds, "csrf_token": "x"})).status_code == 403
    foreign = await browser.post(action, data=creds, headers={"Origin": "https://evil.test"})
    assert foreign.status_code == 403
    assert (await browser.post(action, data=creds)).status_code == 303


async def test_sec_72_device_sign_in_starts_a_new_session(browser: httpx.AsyncClient) -> None:
    browser.cookies.set("__Host-warden-session", "s0-planted-by-someone-else")
    page = await browser.get("/device")
    response = await submit(browser, page, username="alice", password=PASSWORD)
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-warden-session="))
    assert "s0-planted" not in session
    for attribute in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"):
        assert attribute.lower() in session.lower(), attribute


async def test_sign_out_from_the_code_page(signed_in: httpx.AsyncClient) -> None:
    page = await signed_in.get("/device")
    _, hidden = parse_form(page.text)
    assert f'formaction="{ISSUER}/logout"' in page.text
    signed_out = await signed_in.post("/logout", data={"csrf_token": hidden["csrf_token"]})
    assert signed_out.status_code == 200
    assert 'name="password"' in (await signed_in.get("/device")).text


async def test_sec_73_device_sign_in_shares_the_login_limits(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/device")
    for _ in range(5):
        wrong = await submit(browser, page, username="alice", password="wrong")
        assert wrong.status_code == 400
        assert "Wrong username or password." in wrong.text
    limited = await submit(browser, page, username="alice", password=PASSWORD)
    assert limited.status_code == 429
    assert limited.headers["retry-after"]


# -- pages, CORS, storage, rate limits ---------------------------------------------------------


async def test_sec_63_device_pages_cannot_be_framed(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    device = await started(client)
    sign_in_page = await browser.get("/device")
    code_page = await sign_in(browser)
    confirm = await browser.get(device["verification_uri_complete"])
    wrong = await enter(browser, "BBBB-BBBB")
    for page in (sign_in_page, code_page, confirm, wrong):
        assert page.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        for header, value in PAGE_HEADERS.items():
            assert page.headers[header] == value, header
        assert "<script" not in page.text.lower()
        for url in re.findall(r'(?:src|href|action|formaction)="([^"]*)"', page.text):
            assert url.startswith(ISSUER + "/"), url


async def test_sec_115_cors_on_device_authorization_never_on_the_pages(
    client: httpx.AsyncClient, alice: User
) -> None:
    origin = {"Origin": "https://agent.example"}
    response = await start(client)
    preflight = await client.options(
        "/device_authorization",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    cross = await client.post(
        "/device_authorization", data={"client_id": "cli_agent"}, headers=origin
    )
    assert cross.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in cross.headers
    assert response.status_code == 200
    for path in ("/device", "/device/login", "/device/confirm"):
        page = await client.options(
            path, headers={**origin, "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in page.headers, path


async def test_sec_108_codes_are_stored_only_as_digests(
    client: httpx.AsyncClient, signed_in: httpx.AsyncClient, ctx: AppContext
) -> None:
    device = await started(client)
    await approved(signed_in, device["user_code"])
    async with ctx.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM device_authorizations"))).all()
    dump = repr(rows)
    assert len(rows) == 1
    for secret in (
        device["device_code"],
        device["user_code"],
        device["user_code"].replace("-", ""),
    ):
        assert secret not in dump


async def test_sec_116_device_authorization_is_rate_limited_per_ip(
    make_app: AppFactory,
) -> None:
    app, ctx = await make_app(device={"requests_per_ip_per_minute": 3})
    await add_device_client(ctx)
    near = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    far = httpx.ASGITransport(app=app, client=("192.0.2.44", 50000))
    async with (
        httpx.AsyncClient(transport=near, base_url=ISSUER) as device,
        httpx.AsyncClient(transport=far, base_url=ISSUER) as elsewhere,
    ):
        for _ in range(3):
            assert (await start(device)).status_code == 200
        limited = await start(device)
        assert limited.status_code == 429
        assert limited.headers["retry-after"]
        assert (await start(elsewhere)).status_code == 200


async def test_metadata_advertises_the_device_endpoint(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert doc["device_authorization_endpoint"] == f"{ISSUER}/device_authorization"
    assert DEVICE_CODE in doc["grant_types_supported"]
