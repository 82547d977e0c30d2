"""A client is presented the same way wherever it is shown (issue 4, item 1).

The consent page is covered in test_consent_narrowing.py; here the sign-in page, the device
confirmation page, and a device-flow agent on the connected-agents page.
"""

from __future__ import annotations

import re

import httpx
from helpers import PASSWORD, add_client, add_user, authorize_params, parse_form, submit

from warden.oauth.client_metadata import DEVICE_CODE
from warden.oauth.model import Client
from warden.web.context import AppContext

RESOURCE = "https://rs.example/mcp"


async def add_device_agent(ctx: AppContext) -> None:
    client = Client(
        client_id="cli_agent",
        origin="static",
        kind="agent",
        token_endpoint_auth_method="none",
        redirect_uris=(),
        grant_types=(DEVICE_CODE, "refresh_token"),
        response_types=(),
        scope="read:calendar",
        metadata={
            "client_name": "Calendar CLI",
            "publisher": "Example Tools Ltd",
            "software_id": "calendar-cli",
            "software_version": "0.9.1",
        },
    )
    async with ctx.db.unit_of_work() as stores:
        await stores.clients.add(client)


async def test_the_sign_in_page_names_the_client_with_its_kind(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="dcr", origin="dynamic", kind="agent")
    page = await client.get("/authorize", params=authorize_params(client_id="dcr"))
    assert 'name="password"' in page.text
    assert "AI agent" in page.text and "Identity unverified" in page.text


async def test_a_device_agent_is_presented_and_then_revoked_like_any_other(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_user(ctx)
    await add_device_agent(ctx)
    started = await client.post(
        "/device_authorization",
        data={"client_id": "cli_agent", "scope": "read:calendar", "resource": RESOURCE},
    )
    assert started.status_code == 200, started.text
    device = started.json()

    page = await client.get("/device", params={"user_code": device["user_code"]})
    signed_in = await submit(client, page, username="alice", password=PASSWORD)
    confirm = await client.get(signed_in.headers["location"])
    text = confirm.text
    assert "AI agent" in text and "Verified: vouched for by your administrator" in text
    assert "Example Tools Ltd" in text and "calendar-cli" in text and "version 0.9.1" in text
    assert "<img" not in text
    assert (await submit(client, confirm, decision="approve")).status_code == 200
    tokens = await client.post(
        "/token",
        data={
            "grant_type": DEVICE_CODE,
            "device_code": device["device_code"],
            "client_id": "cli_agent",
        },
    )
    assert tokens.status_code == 200, tokens.text

    listed = await client.get("/account/connections")
    assert "Calendar CLI" in listed.text and "Example Tools Ltd" in listed.text
    form = next(
        f
        for f in re.findall(r"<form [^>]*>.*?</form>", listed.text, re.DOTALL)
        if 'value="cli_agent"' in f
    )
    action, fields = parse_form(form)
    assert (await client.post(action, data=fields)).status_code == 303
    refreshed = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens.json()["refresh_token"],
            "client_id": "cli_agent",
        },
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
