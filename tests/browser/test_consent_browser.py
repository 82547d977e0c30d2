"""A person at a real browser consents to an agent, narrows it, and takes it back (issue 4).

Debian's chromium, driven by Playwright, against a real Warden under uvicorn on a free
loopback port with an http loopback issuer. The agent registers itself (RFC 7591) with a
loopback redirect URI, as MCP clients do; nothing listens there: Playwright intercepts the
navigation and hands the code to the test, which plays the agent's token requests.

The person signs in, sees the consent page with the "AI agent" badge, unchecks one scope and
allows; the code, and so the tokens, carry only the scope left checked. Then the person opens
the connected-agents page and removes the agent: its refresh token is ``invalid_grant`` and
introspection by the resource server says ``active: false``, at once.

Never downloads a browser: ``/usr/bin/chromium`` (``apt-get install chromium``) is required,
and ``.ci/run`` installs it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from warden.demo.servers import BackgroundServer, bind_loopback
from warden.oauth.users import add_user
from warden.settings import Settings
from warden.web.app import create_app
from warden.web.context import build_context

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path("/tmp/consent.png")
USERNAME, PASSWORD = "alice", "correct horse battery staple"
RESOURCE = "https://calendar.example/mcp"
RS_CLIENT, RS_SECRET = "rs_calendar", "rs-secret-" + "x" * 32
REDIRECT_URI = "http://127.0.0.1:47999/callback"  # intercepted: nothing listens there
VERIFIER = "browser-test-verifier-" + "v" * 40
SCOPES = "read:calendar write:email:send"


def _settings(workdir: Path, port: int) -> Settings:
    return Settings(
        issuer=f"http://127.0.0.1:{port}",
        database_url=f"sqlite+aiosqlite:///{workdir / 'warden.db'}",
        secret_key="browser-test-secret-" + "x" * 40,
        secret_key_file=workdir / "warden.secret",
        resource_servers={RS_CLIENT: [RESOURCE]},
        login={"argon2_memory_kib": 1024, "argon2_time_cost": 1},
    )


async def _seed(settings: Settings) -> None:
    """Tables, the person and the resource server's client, before the server starts."""
    from warden.oauth.model import Client

    ctx = build_context(settings)
    try:
        await ctx.db.create_all()
        async with ctx.db.unit_of_work() as stores:
            await add_user(
                stores.users, USERNAME, PASSWORD, passwords=ctx.passwords, now=ctx.clock.now()
            )
            await stores.clients.add(
                Client(
                    client_id=RS_CLIENT,
                    origin="static",
                    kind="service",
                    token_endpoint_auth_method="client_secret_basic",
                    redirect_uris=(),
                    grant_types=("client_credentials",),
                    response_types=(),
                    secret_hash=ctx.hasher.digest(RS_SECRET),
                    metadata={"client_name": "Calendar MCP server"},
                )
            )
    finally:
        await ctx.db.dispose()


@pytest.fixture
def warden_url(tmp_path: Path) -> Iterator[str]:
    """A real Warden under uvicorn on a free loopback port."""
    sock = bind_loopback(0)
    settings = _settings(tmp_path, sock.getsockname()[1])
    asyncio.run(_seed(settings))
    with BackgroundServer("authorization server", lambda: create_app(settings), sock) as server:
        yield server.url


@pytest.fixture
def chromium() -> Path:
    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install -y chromium"
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


async def register_agent(http: httpx.AsyncClient) -> str:
    """The agent registers itself, as an MCP client does (RFC 7591)."""
    response = await http.post(
        "/register",
        json={
            "client_name": "Calendar Helper",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "native",
            "software_id": "calendar-helper",
            "software_version": "1.4.2",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def authorization_url(base: str, client_id: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPES,
        "resource": RESOURCE,
        "state": "browser-state",
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    return f"{base}/authorize?{urlencode(params)}"


async def catch_redirect(page: Page) -> asyncio.Future[str]:
    """Answer navigations to the redirect URI ourselves, and hand their URL to the test."""
    arrived: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def handle(route: Route) -> None:
        if not arrived.done():
            arrived.set_result(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<p>Back in the agent.")

    await page.route(REDIRECT_URI + "**", handle)
    return arrived


async def introspect(http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await http.post("/introspect", data={"token": token}, auth=(RS_CLIENT, RS_SECRET))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def refresh(http: httpx.AsyncClient, client_id: str, token: str) -> httpx.Response:
    return await http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id},
    )


async def test_consent_unchecking_one_scope_then_revoking_the_agent(
    warden_url: str, browser: Browser
) -> None:
    async with httpx.AsyncClient(base_url=warden_url, timeout=10) as http:
        client_id = await register_agent(http)
        page = await browser.new_page(viewport={"width": 760, "height": 900})
        arrived = await catch_redirect(page)

        # Sign in, then the consent page: an AI agent, unverified, asking for two scopes.
        await page.goto(authorization_url(warden_url, client_id))
        await page.get_by_label("Username").fill(USERNAME)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("h1")).to_have_text("Calendar Helper")
        await expect(page.locator(".tag.kind.agent")).to_have_text("AI agent")
        await expect(page.locator(".tag.unverified")).to_be_visible()
        send = page.get_by_role("checkbox", name="Send email as you")
        await expect(send).to_be_checked()
        await expect(page.get_by_role("checkbox", name="Read your whole calendar")).to_be_checked()
        await page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Uncheck one scope and allow: the agent gets a code for what stayed checked.
        await send.uncheck()
        await page.get_by_role("button", name="Allow").click()
        location = await asyncio.wait_for(arrived, timeout=10)
        await page.wait_for_url(REDIRECT_URI + "?**")  # the agent's page has loaded
        query = parse_qs(urlsplit(location).query)
        assert query["state"] == ["browser-state"] and query["iss"] == [warden_url]
        issued = await http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "code_verifier": VERIFIER,
                "client_id": client_id,
                "redirect_uri": REDIRECT_URI,
            },
        )
        assert issued.status_code == 200, issued.text
        tokens = issued.json()
        assert tokens["scope"] == "read:calendar"
        assert (await introspect(http, tokens["access_token"]))["active"] is True

        # The connected-agents page lists it; the person removes it.
        await page.goto(f"{warden_url}/account/connections")
        entry = page.locator(".connection", has_text="Calendar Helper")
        await expect(entry).to_contain_text("AI agent")
        await expect(entry).to_contain_text("Read your whole calendar")
        await expect(entry).not_to_contain_text("Send email as you")
        await page.screenshot(path=str(SCREENSHOT.with_name("connections.png")), full_page=True)
        await entry.get_by_role("button", name="Remove access").click()
        await expect(page.locator("h1")).to_have_text("Connected agents and apps")
        await expect(page.locator(".connection", has_text="Calendar Helper")).to_have_count(0)

        # Every token of the agent died at once.
        refreshed = await refresh(http, client_id, tokens["refresh_token"])
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
        assert await introspect(http, tokens["access_token"]) == {"active": False}
