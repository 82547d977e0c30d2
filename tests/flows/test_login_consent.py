"""Sign-in, consent and sign-out pages over the real app (security.md §5: SEC-63..75).

Also: remembered consent, incremental authorization, deny, the transaction cookie, and the
audit trail of the front channel.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from helpers import (
    PASSWORD,
    REDIRECT_URI,
    add_client,
    add_user,
    audit_events,
    authorize_code,
    authorize_params,
    consent_page,
    make_client,
    parse_form,
    query_of,
    sign_in,
    submit,
)

from warden.clock import FrozenClock
from warden.net import FetchedDocument
from warden.oauth.clients import ClientDirectory
from warden.oauth.sessions import Sessions
from warden.web.context import AppContext, derive_key

ISSUER = "https://warden.test"
FAST_LOGIN = {"argon2_memory_kib": 1024, "argon2_time_cost": 1}
AppFactory = Callable[..., Awaitable[tuple[Any, AppContext]]]
SESSION = "__Host-warden-session"
PAGE_HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


@pytest.fixture
async def app_ctx(make_app: AppFactory) -> tuple[Any, AppContext]:
    return await make_app(login=FAST_LOGIN)


@pytest.fixture(autouse=True)
async def seeded(ctx: AppContext) -> None:
    await add_user(ctx)
    await add_user(ctx, "mallory", "mallory-password")
    await add_client(ctx)


@pytest.fixture
async def other_browser(app: Any) -> Any:
    """A second browser (its own cookie jar) on another IP address."""
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as browser:
        yield browser


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each ``Set-Cookie`` of the response, by cookie name."""
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def txn_cookie(client: httpx.AsyncClient) -> tuple[str, str]:
    (name,) = [n for n in client.cookies if n.startswith("__Host-warden-txn-")]
    return name, client.cookies[name]


async def code_scope(ctx: AppContext, location: str) -> str:
    async with ctx.db.unit_of_work() as stores:
        code = await stores.codes.get(ctx.hasher.digest(query_of(location)["code"]))
    assert code is not None
    return code.scope


# -- SEC-63, SEC-64: page headers and content ------------------------------------------------


async def test_sec_63_every_page_has_anti_framing_and_no_store(
    client: httpx.AsyncClient,
) -> None:
    login = await client.get("/authorize", params=authorize_params())
    consent = await consent_page(client, prompt="consent")
    error = await client.get("/authorize", params=authorize_params(client_id="nope"))
    expired = await client.get("/consent", params={"txn": "x" * 22})
    signed_out = await submit(client, consent, decision="deny")  # spends the transaction
    assert signed_out.status_code == 303
    pages = {"login": login, "consent": consent, "error": error, "expired": expired}
    for name, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), name
        for header, value in PAGE_HEADERS.items():
            assert page.headers[header] == value, (name, header)


async def test_sec_64_pages_load_nothing_from_elsewhere_and_run_no_script(
    client: httpx.AsyncClient,
) -> None:
    login = await client.get("/authorize", params=authorize_params())
    consent = await consent_page(client, prompt="consent")
    for page in (login, consent):
        assert "<script" not in page.text.lower()
        assert not re.search(r"\son[a-z]+\s*=", page.text, re.IGNORECASE)
        for url in re.findall(r'(?:src|href|action|formaction)="([^"]*)"', page.text):
            assert url.startswith(ISSUER + "/"), url
    css = await client.get("/static/warden.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "http" not in css.text and "@import" not in css.text


async def test_hidden_inputs_keep_the_attribute_order_headless_clients_parse(
    client: httpx.AsyncClient,
) -> None:
    """mcp-auth.md recipe 6b reads ``<input type="hidden" name=".." value="..">``."""
    page = await client.get("/authorize", params=authorize_params())
    action, hidden = parse_form(page.text)
    assert action == f"{ISSUER}/login"
    assert set(hidden) == {"txn", "csrf_token"}


# -- SEC-65, SEC-66: CSRF and the session binding --------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong"])
async def test_sec_65_consent_needs_the_csrf_token(
    client: httpx.AsyncClient, token: str | None
) -> None:
    page = await consent_page(client)
    action, hidden = parse_form(page.text)
    data = {"txn": hidden["txn"], "decision": "approve"}
    if token is not None:
        data["csrf_token"] = token
    response = await client.post(action, data=data)
    assert response.status_code == 403
    assert "location" not in response.headers


async def test_sec_65_csrf_token_of_another_transaction_is_refused(
    client: httpx.AsyncClient,
) -> None:
    first = await consent_page(client)
    second = await consent_page(client, state="other")
    _, hidden_first = parse_form(first.text)
    action, hidden_second = parse_form(second.text)
    response = await client.post(
        action,
        data={
            "txn": hidden_first["txn"],
            "csrf_token": hidden_second["csrf_token"],
            "decision": "approve",
        },
    )
    assert response.status_code == 403


async def test_sec_65_foreign_origin_is_refused(client: httpx.AsyncClient) -> None:
    page = await consent_page(client)
    action, hidden = parse_form(page.text)
    data = {**hidden, "decision": "approve"}
    foreign = await client.post(action, data=data, headers={"Origin": "https://evil.test"})
    assert foreign.status_code == 403
    # Browsers send "Origin: null" for our own forms under Referrer-Policy: no-referrer.
    own = await client.post(action, data=data, headers={"Origin": "null"})
    assert own.status_code == 303


async def test_sec_65_login_also_needs_csrf_and_our_origin(client: httpx.AsyncClient) -> None:
    page = await client.get("/authorize", params=authorize_params())
    action, hidden = parse_form(page.text)
    creds = {"username": "alice", "password": PASSWORD}
    no_token = await client.post(action, data={"txn": hidden["txn"], **creds})
    assert no_token.status_code == 403
    foreign = await client.post(
        action, data={**hidden, **creds}, headers={"Origin": "https://evil.test"}
    )
    assert foreign.status_code == 403
    assert SESSION not in set_cookies(foreign)


async def test_sec_65_approval_token_is_single_use(client: httpx.AsyncClient) -> None:
    page = await consent_page(client)
    name, value = txn_cookie(client)
    action, hidden = parse_form(page.text)
    first = await client.post(action, data={**hidden, "decision": "approve"})
    assert first.status_code == 303
    client.cookies.set(name, value, domain="warden.test")  # replay the sealed transaction
    again = await client.post(action, data={**hidden, "decision": "approve"})
    assert again.status_code == 403
    assert "location" not in again.headers


async def test_sec_66_another_session_cannot_approve(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    victim_page = await consent_page(client)
    action, hidden = parse_form(victim_page.text)
    await consent_page(
        other_browser, username="mallory", password="mallory-password"
    )  # the attacker's own session
    name, value = txn_cookie(client)
    other_browser.cookies.set(name, value, domain="warden.test")
    response = await other_browser.post(action, data={**hidden, "decision": "approve"})
    assert response.status_code == 403
    assert "location" not in response.headers


async def test_sec_66_transaction_without_its_cookie_is_refused(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    page = await consent_page(client)
    action, hidden = parse_form(page.text)
    await consent_page(other_browser, username="mallory", password="mallory-password")
    response = await other_browser.post(action, data={**hidden, "decision": "approve"})
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_tampered_or_expired_transaction_cookie_is_refused(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    page = await client.get("/authorize", params=authorize_params())
    name, value = txn_cookie(client)
    client.cookies.set(name, value[:-4] + "AAAA", domain="warden.test")
    assert (await sign_in(client, page)).status_code == 400
    client.cookies.set(name, value, domain="warden.test")
    clock.advance(601)
    expired = await sign_in(client, page)
    assert expired.status_code == 400
    assert "expired" in expired.text


# -- SEC-67, SEC-68: what consent shows and remembers ----------------------------------------


async def test_sec_67_client_name_is_text_and_hosts_are_shown(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(
        ctx,
        client_id="dcr",
        origin="dynamic",
        kind="agent",
        metadata={
            "client_name": "<img src=x onerror=alert(1)>",
            "client_uri": "https://pub.example",
        },
    )
    page = await consent_page(client, client_id="dcr", resource="https://rs.example/mcp")
    assert "<img" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "AI agent" in page.text
    assert "unverified" in page.text
    assert "pub.example" in page.text
    assert "app.example" in page.text  # the redirect URI's host
    assert "https://rs.example/mcp" in page.text
    assert "Read your whole calendar" in page.text


class DocumentStub:
    """Serves one Client ID Metadata Document without a network."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    async def get_json(self, url: str) -> FetchedDocument:
        assert url == self.document["client_id"]
        return FetchedDocument(url=url, body=self.document, max_age_seconds=300, etag=None)


async def test_sec_67_cimd_client_shows_its_host_and_a_loopback_warning(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    client_id = "https://good.example/cid"
    stub = DocumentStub(
        {
            "client_id": client_id,
            "client_name": "Good Agent",
            "redirect_uris": ["http://localhost/callback"],
            "token_endpoint_auth_method": "none",
        }
    )
    await ctx.clients.aclose()
    ctx.clients = ClientDirectory.from_settings(
        ctx.settings, scopes=ctx.scopes, limiter=ctx.limiter, clock=ctx.clock, fetcher=stub
    )
    page = await consent_page(
        client, client_id=client_id, redirect_uri="http://localhost:3030/callback"
    )
    assert "Good Agent" in page.text
    assert "good.example" in page.text
    assert "loopback" in page.text
    assert "unverified" in page.text


async def test_sec_67_admin_registered_app_is_not_labelled_unverified_or_agent(
    client: httpx.AsyncClient,
) -> None:
    page = await consent_page(client)
    assert "Test App" in page.text
    assert "unverified" not in page.text
    assert "AI agent" not in page.text


async def test_consent_groups_scopes_by_sensitivity(client: httpx.AsyncClient) -> None:
    page = await consent_page(client, scope="write:email:send read:calendar:next-7-days")
    sensitive = page.text.index("Sensitive")
    basic = page.text.index("Basic")
    assert sensitive < page.text.index("Send email as you") < basic
    assert basic < page.text.index("See your calendar events for the next 7 days")


async def test_sec_68_consent_is_per_client(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await add_client(ctx, client_id="twin", metadata={"client_name": "Test App"})
    await authorize_code(client, client_id="app_test", scope="read:calendar")
    twin = await client.get("/authorize", params=authorize_params(client_id="twin"))
    assert twin.status_code == 200 and 'name="decision"' in twin.text


async def test_consent_is_remembered(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await authorize_code(client, client_id="app_test", scope="read:calendar")
    again = await client.get("/authorize", params=authorize_params())
    assert again.status_code == 302
    assert "code" in query_of(again.headers["location"])
    narrower = await client.get(
        "/authorize", params=authorize_params(scope="read:calendar:next-7-days")
    )
    assert narrower.status_code == 302


async def test_prompt_consent_forces_the_page(client: httpx.AsyncClient) -> None:
    await authorize_code(client, client_id="app_test", scope="read:calendar")
    page = await client.get("/authorize", params=authorize_params(prompt="consent"))
    assert page.status_code == 200 and 'name="decision"' in page.text


async def test_wider_request_asks_again(client: httpx.AsyncClient) -> None:
    await authorize_code(client, client_id="app_test", scope="read:calendar:next-7-days")
    page = await client.get("/authorize", params=authorize_params(scope="read:calendar"))
    assert page.status_code == 200 and 'name="decision"' in page.text


async def test_incremental_authorization_grants_the_union(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await authorize_code(client, client_id="app_test", scope="read:calendar")
    page = await consent_page(client, scope="write:email:draft-only-no-send")
    assert "(already allowed)" in page.text
    approved = await submit(client, page, decision="approve")
    both = "read:calendar write:email:draft-only-no-send"
    assert await code_scope(ctx, approved.headers["location"]) == both
    step_up = await client.get(
        "/authorize", params=authorize_params(scope="write:email:draft-only-no-send")
    )
    assert step_up.status_code == 302
    assert await code_scope(ctx, step_up.headers["location"]) == both


async def test_incremental_authorization_can_be_turned_off(make_app: AppFactory) -> None:
    app, ctx = await make_app(login=FAST_LOGIN, incremental_authorization=False)
    async with ctx.db.unit_of_work() as stores:
        if await stores.users.get_by_username("alice") is None:  # PostgreSQL: empty tables
            await add_user(ctx)
            await stores.clients.add(make_client())
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as browser:
        await authorize_code(browser, client_id="app_test", scope="read:calendar")
        _, location = await authorize_code(
            browser, client_id="app_test", scope="write:email:draft-only-no-send"
        )
        assert await code_scope(ctx, location) == "write:email:draft-only-no-send"


async def test_consent_for_another_resource_is_not_merged(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await authorize_code(
        client, client_id="app_test", scope="read:calendar", resource="https://a.example/mcp"
    )
    page = await consent_page(client, scope="write:email:send", resource="https://b.example/mcp")
    assert "(already allowed)" not in page.text
    approved = await submit(client, page, decision="approve")
    assert await code_scope(ctx, approved.headers["location"]) == "write:email:send"
    back = await client.get(
        "/authorize",
        params=authorize_params(scope="read:calendar", resource="https://a.example/mcp"),
    )
    assert back.status_code == 200 and 'name="decision"' in back.text


# -- SEC-14, SEC-69: the answer after a POST --------------------------------------------------


async def test_sec_14_posts_answer_with_303(client: httpx.AsyncClient) -> None:
    login = await client.get("/authorize", params=authorize_params())
    after_login = await sign_in(client, login)
    assert after_login.status_code == 303
    assert after_login.headers["location"].startswith(f"{ISSUER}/consent?txn=")
    page = await client.get(after_login.headers["location"])
    approved = await submit(client, page, decision="approve")
    assert approved.status_code == 303


async def test_sec_69_deny_issues_no_code(client: httpx.AsyncClient, ctx: AppContext) -> None:
    page = await consent_page(client)
    denied = await submit(client, page, decision="deny")
    assert denied.status_code == 303
    query = query_of(denied.headers["location"])
    assert denied.headers["location"].startswith(REDIRECT_URI + "?")
    assert query == {
        "error": "access_denied",
        "error_description": "The user denied the request",
        "state": "s-123",
        "iss": ISSUER,
    }
    assert ("consent.denied", "app_test", "app") in await audit_events(ctx)


@pytest.mark.parametrize("decision", [None, "maybe"])
async def test_a_decision_is_required(client: httpx.AsyncClient, decision: str | None) -> None:
    page = await consent_page(client)
    fields = {"decision": decision} if decision else {}
    response = await submit(client, page, **fields)
    assert response.status_code == 400 and "location" not in response.headers


# -- SEC-71..75: sessions, sign-in and sign-out ---------------------------------------------


async def test_sec_71_cookie_attributes(client: httpx.AsyncClient) -> None:
    login = await client.get("/authorize", params=authorize_params())
    response = await sign_in(client, login)
    cookies = set_cookies(response)
    session = cookies[SESSION].lower()
    txn_name = next(n for n in cookies if n.startswith("__Host-warden-txn-"))
    for header in (session, cookies[txn_name].lower()):
        assert "; secure" in header
        assert "; httponly" in header
        assert "samesite=lax" in header
        assert "path=/" in header
        assert "domain" not in header


async def test_sec_71_development_issuer_uses_plain_cookies(make_app: AppFactory) -> None:
    issuer = "http://127.0.0.1:8000"
    app, ctx = await make_app(login=FAST_LOGIN, issuer=issuer)
    async with ctx.db.unit_of_work() as stores:
        if await stores.users.get_by_username("alice") is None:  # PostgreSQL: empty tables
            await add_user(ctx)
            await stores.clients.add(make_client())
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=issuer) as browser:
        login = await browser.get("/authorize", params=authorize_params())
        headers = login.headers.get_list("set-cookie")
        assert headers and all(h.startswith("warden-txn-") for h in headers)
        assert all("secure" not in h.lower() for h in headers)
        code, _ = await authorize_code(browser, client_id="app_test", scope="read:calendar")
        assert code
        assert "warden-session" in browser.cookies


async def test_sec_72_sign_in_issues_a_new_session_id(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    await authorize_code(client, client_id="app_test", scope="read:calendar")
    first = client.cookies[SESSION]
    page = await client.get("/authorize", params=authorize_params(prompt="login"))
    await sign_in(client, page)
    second = client.cookies[SESSION]
    assert second != first
    other_browser.cookies.set(SESSION, first, domain="warden.test")
    stale = await other_browser.get("/authorize", params=authorize_params())
    assert stale.status_code == 200 and 'name="password"' in stale.text


async def test_sec_73_sixth_attempt_is_rate_limited(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await client.get("/authorize", params=authorize_params())
    for _ in range(5):
        wrong = await sign_in(client, page, password="wrong")
        assert wrong.status_code == 400
    limited = await sign_in(client, page, password="wrong")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "location" not in limited.headers
    right_but_limited = await sign_in(client, page)
    assert right_but_limited.status_code == 429
    elsewhere = await other_browser.get("/authorize", params=authorize_params())
    assert (await sign_in(other_browser, elsewhere)).status_code == 303
    assert ("login.failed", "app_test", "app") in await audit_events(ctx)


async def test_sec_73_unknown_user_and_wrong_password_look_the_same(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/authorize", params=authorize_params())
    unknown = await sign_in(client, page, username="nobody", password="pw")
    wrong = await sign_in(client, page, username="alice", password="pw")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.text == wrong.text
    assert "Wrong username or password." in wrong.text


async def test_sec_74_there_is_no_next_parameter(client: httpx.AsyncClient) -> None:
    assert (await client.get("/login", params={"next": "https://evil.test"})).status_code == 405
    page = await client.get("/authorize", params=authorize_params())
    action, hidden = parse_form(page.text)
    for target in ("https://evil.test", "//evil.test", "/\\evil.test"):
        response = await client.post(
            action,
            params={"next": target},
            data={**hidden, "username": "alice", "password": PASSWORD, "next": target},
        )
        assert response.status_code == 303
        assert response.headers["location"].startswith(f"{ISSUER}/consent?txn=")
        page = await client.get(response.headers["location"])
        page = await client.get("/authorize", params=authorize_params(prompt="login"))
        action, hidden = parse_form(page.text)


async def test_sec_75_logout_is_a_post_with_csrf(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    assert (await client.get("/logout")).status_code == 405
    page = await consent_page(client)
    old_session = client.cookies[SESSION]
    assert (await client.post("/logout")).status_code == 403
    _, hidden = parse_form(page.text)
    assert (await client.post("/logout", data={"txn": hidden["txn"]})).status_code == 403
    response = await client.post("/logout", data=hidden)  # the consent page's "Sign out"
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{ISSUER}/consent?txn=")
    assert (
        SESSION in set_cookies(response) and "max-age=0" in set_cookies(response)[SESSION].lower()
    )
    again = await client.get(response.headers["location"])
    assert again.status_code == 200 and 'name="password"' in again.text
    other_browser.cookies.set(SESSION, old_session, domain="warden.test")
    stale = await other_browser.get("/authorize", params=authorize_params())
    assert 'name="password"' in stale.text


async def test_sec_75_logout_without_a_transaction_uses_the_session_token(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await authorize_code(client, client_id="app_test", scope="read:calendar")
    session_id = client.cookies[SESSION]
    async with ctx.db.unit_of_work() as stores:
        sessions = Sessions(
            stores.sessions,
            ctx.hasher,
            ttl_seconds=3600,
            csrf_key=derive_key(ctx.master_secret, "session-csrf"),
        )
        session = await sessions.find(session_id, now=ctx.clock.now())
        assert session is not None
        token = sessions.csrf_token(session)
    assert (await client.post("/logout", data={"csrf_token": "wrong"})).status_code == 403
    response = await client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 200 and "signed out" in response.text
    async with ctx.db.unit_of_work() as stores:
        assert await stores.sessions.get(ctx.hasher.digest(session_id)) is None


async def test_switching_account_continues_the_same_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client)
    _, hidden = parse_form(page.text)
    signed_out = await client.post("/logout", data=hidden)
    login = await client.get(signed_out.headers["location"])
    after = await sign_in(client, login, username="mallory", password="mallory-password")
    page = await client.get(after.headers["location"])
    assert "mallory" in page.text
    approved = await submit(client, page, decision="approve")
    async with ctx.db.unit_of_work() as stores:
        code = await stores.codes.get(
            ctx.hasher.digest(query_of(approved.headers["location"])["code"])
        )
        mallory = await stores.users.get_by_username("mallory")
    assert code is not None and mallory is not None and code.user_id == mallory.user_id


async def test_session_expires(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    await authorize_code(client, client_id="app_test", scope="read:calendar")
    clock.advance(12 * 3600 + 1)
    page = await client.get("/authorize", params=authorize_params())
    assert page.status_code == 200 and 'name="password"' in page.text


async def test_audit_trail_of_a_flow(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await add_client(ctx, client_id="bot", kind="agent")
    await authorize_code(client, client_id="bot", scope="read:calendar")
    events = await audit_events(ctx)
    assert ("login.succeeded", "bot", "agent") in events
    assert ("consent.granted", "bot", "agent") in events
