"""Consent that fits agents (issue 4, items 1 and 6): who is asking, and a choice of scopes.

The page marks an agent with an "AI agent" badge, its publisher, its software and whether its
identity is verified (SEC-67), lists the scopes in the catalogue's words with the sensitive
ones first and warned about, and lets the person uncheck scopes: the code, the consent and
the tokens then carry only what stayed checked, never more than was asked (SEC-8).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from helpers import (
    REDIRECT_URI,
    VERIFIER,
    add_client,
    add_user,
    audit_events,
    authorize_code,
    consent_page,
    count_rows,
    parse_form,
    query_of,
    submit,
)
from sqlalchemy import text

from warden.web.context import AppContext

BOTH = "read:calendar write:email:send"
CHECKBOX = re.compile(r'<input type="checkbox" name="scope" value="([^"]+)" checked>')


@pytest.fixture(autouse=True)
async def seeded(ctx: AppContext) -> None:
    await add_user(ctx)
    await add_client(ctx)  # app_test: an administrator's app
    await add_client(
        ctx,
        client_id="dcr_agent",
        origin="dynamic",
        kind="agent",
        metadata={
            "client_name": "Calendar Helper",
            "client_uri": "https://app.example/about",
            "publisher": "Google LLC",  # self-asserted: never shown
            "logo_uri": "https://app.example/logo.png",
            "software_id": "cal-helper",
            "software_version": "2.1.0",
        },
    )


async def approve(client: httpx.AsyncClient, page: httpx.Response, **fields: Any) -> httpx.Response:
    """Post the consent form as a browser does: hidden fields, checked boxes, the button."""
    action, data = parse_form(page.text)
    return await client.post(action, data={**data, **fields})


async def stored_code_scope(ctx: AppContext, response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    code = query_of(response.headers["location"])["code"]
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.codes.get(ctx.hasher.digest(code))
    assert stored is not None
    return stored.scope


# -- who is asking (items 1 and 6; SEC-67, SEC-60) --------------------------------------------


async def test_an_agent_is_marked_with_its_badge_publisher_software_and_trust(
    client: httpx.AsyncClient,
) -> None:
    page = await consent_page(client, client_id="dcr_agent", scope=BOTH)
    text = page.text
    assert "AI agent" in text
    assert "Identity unverified" in text
    assert "app.example" in text and "(as the app describes itself)" in text
    assert "cal-helper" in text and "version 2.1.0" in text
    assert "Google" not in text  # an unverified client's own publisher name is not shown


async def test_sec_60_no_logo_is_loaded_from_elsewhere(client: httpx.AsyncClient) -> None:
    page = await consent_page(client, client_id="dcr_agent", scope=BOTH)
    assert "<img" not in page.text
    assert "logo.png" not in page.text
    assert re.search(r'<span class="avatar c\d" aria-hidden="true">C</span>', page.text)


async def test_an_administrators_agent_is_verified_with_its_publishers_name(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(
        ctx,
        client_id="static_agent",
        kind="agent",
        metadata={"client_name": "Ops Agent", "publisher": "Example Corp"},
    )
    page = await consent_page(client, client_id="static_agent", scope=BOTH)
    assert "AI agent" in page.text
    assert "Verified: vouched for by your administrator" in page.text
    assert "Example Corp" in page.text
    assert "unverified" not in page.text and "as the app describes itself" not in page.text


async def test_scopes_are_in_plain_words_the_sensitive_first_and_warned(
    client: httpx.AsyncClient,
) -> None:
    page = await consent_page(client, scope="read:calendar:next-7-days " + BOTH)
    text = page.text
    assert text.index("Send email as you") < text.index("Read your whole calendar")
    assert text.index("Read your whole calendar") < text.index("next 7 days")
    high = text[text.index('<section class="scopes high">') :]
    assert "hard to undo" in high[: high.index("</section>")]
    assert set(CHECKBOX.findall(text)) == {
        "read:calendar",
        "read:calendar:next-7-days",
        "write:email:send",
    }


# -- the choice (item 6) ----------------------------------------------------------------------


async def test_unchecking_a_scope_narrows_the_code_the_consent_and_the_tokens(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client, scope=BOTH)
    response = await approve(client, page, decision="approve-selected", scope="read:calendar")
    assert await stored_code_scope(ctx, response) == "read:calendar"
    async with ctx.db.unit_of_work() as stores:
        alice = await stores.users.get_by_username("alice")
        assert alice is not None
        consent = await stores.consents.get(alice.user_id, "app_test")
    assert consent is not None and consent.scopes == {"read:calendar"}
    tokens = await client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(response.headers["location"])["code"],
            "code_verifier": VERIFIER,
            "client_id": "app_test",
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["scope"] == "read:calendar"


async def test_the_narrowed_consent_asks_again_for_what_was_unchecked(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client, scope=BOTH)
    await approve(client, page, decision="approve-selected", scope="read:calendar")
    again = await consent_page(client, scope=BOTH)  # asserts the consent page is shown
    assert CHECKBOX.findall(again.text) == ["write:email:send"]
    assert "(already allowed)" in again.text  # read:calendar, kept without a checkbox


async def test_unchecking_everything_asks_again_and_issues_nothing(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client, scope=BOTH)
    again = await approve(client, page, decision="approve-selected")
    assert again.status_code == 400
    assert "Choose at least one permission" in again.text
    assert await count_rows(ctx, "authorization_codes") == 0
    assert await count_rows(ctx, "consents") == 0
    # The old form is spent; the page came back on a fresh transaction that works.
    assert parse_form(again.text)[1]["txn"] != parse_form(page.text)[1]["txn"]
    stale = await approve(client, page, decision="approve-selected", scope="read:calendar")
    assert stale.status_code in (400, 403)
    response = await approve(client, again, decision="approve-selected", scope="write:email:send")
    assert await stored_code_scope(ctx, response) == "write:email:send"


async def test_sec_8_a_scope_not_asked_for_is_refused(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    for widened in ("write:email:send", "read", "admin"):
        page = await consent_page(client, scope="read:calendar", prompt="consent")
        response = await approve(
            client, page, decision="approve-selected", scope=["read:calendar", widened]
        )
        assert response.status_code == 400, widened
        assert "did not ask for" in response.text
    assert await count_rows(ctx, "authorization_codes") == 0


async def test_a_narrower_scope_than_one_asked_for_may_be_kept(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client, scope="read:calendar")
    response = await approve(
        client, page, decision="approve-selected", scope="read:calendar:next-7-days"
    )
    assert await stored_code_scope(ctx, response) == "read:calendar:next-7-days"


async def test_a_driver_posting_approve_and_no_scope_gets_everything_asked(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    """Headless MCP drivers post the hidden fields and ``decision=approve`` (recipe 6b)."""
    page = await consent_page(client, scope=BOTH)
    response = await submit(client, page, decision="approve")
    assert await stored_code_scope(ctx, response) == BOTH
    code, _ = await authorize_code(client, client_id="dcr_agent", scope=BOTH)
    assert code


async def test_approve_with_scope_fields_narrows_like_the_button(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client, scope=BOTH)
    response = await submit(client, page, decision="approve", scope="write:email:send")
    assert await stored_code_scope(ctx, response) == "write:email:send"


async def test_a_narrowed_approval_is_audited_with_what_was_asked(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client, scope=BOTH)
    await approve(client, page, decision="approve-selected", scope="read:calendar")
    assert ("consent.granted", "app_test", "app") in await audit_events(ctx)
    async with ctx.db.engine.connect() as conn:
        raw = await conn.scalar(
            text("SELECT data FROM audit_events WHERE event = 'consent.granted'")
        )
    data = json.loads(raw) if isinstance(raw, str) else raw
    assert data["scope"] == "read:calendar"
    assert data["requested_scope"] == BOTH
