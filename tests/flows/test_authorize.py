"""The authorization endpoint over the real app: validation, error pages, error redirects.

Rules from security.md §1 (SEC-1..17), each named after its id. A "page" is a 400 HTML error
with no ``Location``; a "redirect error" goes to the registered redirect URI with ``error``,
the original ``state`` and ``iss``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from helpers import (
    REDIRECT_URI,
    VERIFIER,
    add_client,
    add_user,
    authorize_code,
    authorize_params,
    consent_page,
    count_rows,
    make_client,
    query_of,
    sign_in,
    submit,
)

from warden.clock import FrozenClock
from warden.errors import TooManyRequestsError
from warden.oauth.model import Resource
from warden.oauth.pkce import s256_challenge
from warden.web.context import AppContext

ISSUER = "https://warden.test"
FAST_LOGIN = {"argon2_memory_kib": 1024, "argon2_time_cost": 1}
AppFactory = Callable[..., Awaitable[tuple[Any, AppContext]]]


@pytest.fixture
async def app_ctx(make_app: AppFactory) -> tuple[Any, AppContext]:
    return await make_app(login=FAST_LOGIN)


@pytest.fixture(autouse=True)
async def seeded(ctx: AppContext) -> None:
    await add_user(ctx)
    await add_client(ctx)


def assert_page(response: httpx.Response, status: int = 400) -> None:
    assert response.status_code == status, response.text[:500]
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


def assert_redirect_error(
    response: httpx.Response, error: str, *, state: str | None = "s-123", to: str = REDIRECT_URI
) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text[:500]
    location = response.headers["location"]
    assert location.startswith(to + "?")
    query = query_of(location)
    assert query["error"] == error
    assert query["iss"] == ISSUER
    assert "code" not in query
    if state is None:
        assert "state" not in query
    else:
        assert query["state"] == state
    return query


async def authorize(client: httpx.AsyncClient, **overrides: str | None) -> httpx.Response:
    return await client.get("/authorize", params=authorize_params(**overrides))


async def signed_in(client: httpx.AsyncClient) -> None:
    """Sign alice in by walking one full authorization."""
    await authorize_code(client, client_id="app_test", scope="read:calendar")


# -- the happy path -------------------------------------------------------------------------


async def test_unauthenticated_request_shows_the_login_page(client: httpx.AsyncClient) -> None:
    response = await authorize(client)
    assert response.status_code == 200
    assert '<input type="hidden" name="txn" value="' in response.text
    assert 'name="username"' in response.text and 'name="password"' in response.text


async def test_full_flow_issues_a_code_bound_to_the_request(
    client: httpx.AsyncClient, ctx: AppContext, clock: FrozenClock
) -> None:
    code, location = await authorize_code(
        client, client_id="app_test", scope="read:calendar", resource="https://rs.example/mcp"
    )
    assert query_of(location) == {"code": code, "state": "s-123", "iss": ISSUER}
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.codes.get(ctx.hasher.digest(code))
    assert stored is not None
    assert stored.client_id == "app_test"
    assert stored.redirect_uri == REDIRECT_URI
    assert stored.code_challenge == s256_challenge(VERIFIER)
    assert stored.code_challenge_method == "S256"
    assert stored.scope == "read:calendar"
    assert stored.resources == ("https://rs.example/mcp",)
    assert stored.expires_at == clock.now() + ctx.settings.tokens.code_ttl_seconds
    assert stored.user_id.startswith("usr_") and stored.grant_id


async def test_post_authorize_with_a_form_body(client: httpx.AsyncClient) -> None:
    """OAuth 2.1 §4.1.1: the request may be a form POST; the answer is then a 303."""
    await signed_in(client)
    response = await client.post("/authorize", data=authorize_params())
    assert response.status_code == 303
    assert "code" in query_of(response.headers["location"])


async def test_no_resource_is_allowed(client: httpx.AsyncClient, ctx: AppContext) -> None:
    code, _ = await authorize_code(client, client_id="app_test")
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.codes.get(ctx.hasher.digest(code))
    assert stored is not None and stored.resources == () and stored.scope == ""


# -- SEC-1..3: PKCE -------------------------------------------------------------------------


async def test_sec_1_missing_challenge_is_invalid_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await signed_in(client)
    before = await count_rows(ctx, "authorization_codes")
    response = await authorize(client, code_challenge=None)
    assert_redirect_error(response, "invalid_request")
    assert await count_rows(ctx, "authorization_codes") == before


@pytest.mark.parametrize("method", ["plain", None, "s256"])
async def test_sec_2_only_s256(client: httpx.AsyncClient, method: str | None) -> None:
    response = await authorize(client, code_challenge_method=method)
    assert_redirect_error(response, "invalid_request")


@pytest.mark.parametrize("challenge", ["abc", s256_challenge(VERIFIER) + "=", "a" * 44])
async def test_sec_3_challenge_syntax(client: httpx.AsyncClient, challenge: str) -> None:
    response = await authorize(client, code_challenge=challenge)
    assert_redirect_error(response, "invalid_request")


# -- SEC-4..7: redirect URIs and clients ----------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://app.example/CB",
        "https://app.example/cb/",
        "https://app.example/cb?x=1",
        "https://app.example/cb/../cb",
        "https://app.example/cb#f",
        "https://app.example.evil.test/cb",
        "https://u@app.example/cb",
        "https://app.example/cb%2F..",
        "https://evil.test/cb",
    ],
)
async def test_sec_4_redirect_uri_must_match_exactly(
    client: httpx.AsyncClient, redirect_uri: str
) -> None:
    assert_page(await authorize(client, redirect_uri=redirect_uri))


async def test_sec_5_loopback_port_may_vary(client: httpx.AsyncClient, ctx: AppContext) -> None:
    await add_client(ctx, client_id="native", redirect_uris=("http://127.0.0.1/cb",))
    ok = await authorize(client, client_id="native", redirect_uri="http://127.0.0.1:53111/cb")
    assert ok.status_code == 200 and 'name="password"' in ok.text
    for wrong in (
        "http://127.0.0.1:53111/cb?x=1",
        "http://127.0.0.2:80/cb",
        "http://localhost:53111/cb",
        "http://127.0.0.1.nip.io:80/cb",
    ):
        assert_page(await authorize(client, client_id="native", redirect_uri=wrong))


async def test_sec_6_several_registered_uris_require_redirect_uri(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="two", redirect_uris=(REDIRECT_URI, "https://app.example/b"))
    assert_page(await authorize(client, client_id="two", redirect_uri=None))
    one = await authorize(client, redirect_uri=None)
    assert one.status_code == 200


@pytest.mark.parametrize("client_id", ["nope", None])
async def test_sec_7_unknown_client_shows_a_page(
    client: httpx.AsyncClient, client_id: str | None
) -> None:
    response = await authorize(client, client_id=client_id, redirect_uri="https://evil.test/cb")
    assert_page(response)
    assert "evil.test" not in response.text


async def test_sec_7_no_redirect_when_the_client_disappears_mid_flow(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await authorize(client)
    async with ctx.db.unit_of_work() as stores:
        await stores.clients.delete("app_test")
    assert_page(await sign_in(client, page))


async def test_sec_7_no_redirect_when_the_redirect_uri_is_unregistered_mid_flow(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client)
    async with ctx.db.unit_of_work() as stores:
        client_row = await stores.clients.get("app_test")
        assert client_row is not None
        await stores.clients.replace(replace(client_row, redirect_uris=("https://app.example/b",)))
    assert_page(await submit(client, page, decision="approve"))


# -- SEC-8, SEC-9: the transaction stays server side; strangers are not bounced -------------


async def test_sec_8_form_fields_cannot_change_the_request(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    page = await consent_page(client)
    response = await submit(
        client,
        page,
        decision="approve",
        redirect_uri="https://evil.test/cb",
        client_id="other",
    )
    # A posted `scope` narrows the grant, and one not asked for is refused: see
    # test_consent_narrowing.py::test_sec_8_a_scope_not_asked_for_is_refused.
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    code = query_of(location)["code"]
    async with ctx.db.unit_of_work() as stores:
        stored = await stores.codes.get(ctx.hasher.digest(code))
    assert stored is not None and stored.scope == "read:calendar"
    assert stored.redirect_uri == REDIRECT_URI


async def test_sec_9_self_registered_client_with_bad_scope_signs_in_first(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="dcr", origin="dynamic", kind="agent")
    page = await authorize(client, client_id="dcr", scope="bogus")
    assert page.status_code == 200 and 'name="password"' in page.text
    response = await sign_in(client, page)
    assert response.status_code == 303
    assert_redirect_error(response, "invalid_scope")


async def test_sec_9_prompt_none_for_a_stranger_and_a_dynamic_client_shows_login(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="dcr", origin="dynamic", kind="agent")
    page = await authorize(client, client_id="dcr", prompt="none")
    assert page.status_code == 200 and 'name="password"' in page.text
    assert_redirect_error(await sign_in(client, page), "login_required")


async def test_sec_9_admin_registered_client_gets_errors_at_once(
    client: httpx.AsyncClient,
) -> None:
    assert_redirect_error(await authorize(client, scope="bogus"), "invalid_scope")


# -- SEC-10..16: the response and the request parameters -----------------------------------


async def test_sec_10_iss_on_success_and_on_errors(client: httpx.AsyncClient) -> None:
    _, location = await authorize_code(client, client_id="app_test", scope="read:calendar")
    assert query_of(location)["iss"] == ISSUER
    assert_redirect_error(
        await authorize(client, response_type="token"), "unsupported_response_type"
    )
    page = await consent_page(client, prompt="consent")
    assert_redirect_error(await submit(client, page, decision="deny"), "access_denied")


async def test_sec_11_only_response_type_code(client: httpx.AsyncClient) -> None:
    for response_type in ("token", "code token", "id_token"):
        response = await authorize(client, response_type=response_type)
        assert_redirect_error(response, "unsupported_response_type")
        assert "access_token" not in response.headers["location"]
    assert_redirect_error(await authorize(client, response_type=None), "invalid_request")


async def test_sec_11_response_mode_other_than_query_is_refused(
    client: httpx.AsyncClient,
) -> None:
    assert_redirect_error(await authorize(client, response_mode="fragment"), "invalid_request")


async def test_unauthorized_client_without_the_code_grant(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="svc", grant_types=("client_credentials",), kind="service")
    assert_redirect_error(await authorize(client, client_id="svc"), "unauthorized_client")


async def test_sec_12_state_is_echoed_url_encoded(client: httpx.AsyncClient) -> None:
    state = "<script>alert(1)</script> &x=1#ü"
    page = await authorize(client, state=state)
    assert "<script>" not in page.text
    code_state = await authorize_code(client, client_id="app_test", state=state)
    location = code_state[1]
    assert "<script>" not in location and " " not in location
    assert query_of(location)["state"] == state
    assert_redirect_error(
        await authorize(client, state=state, response_type="x"),
        "unsupported_response_type",
        state=state,
    )


@pytest.mark.parametrize("size", [1025, 10_000])
async def test_sec_12_oversized_state_is_refused(client: httpx.AsyncClient, size: int) -> None:
    response = await authorize(client, state="s" * size)
    assert_redirect_error(response, "invalid_request", state=None)


async def test_sec_13_repeated_redirect_uri_or_client_id_shows_a_page(
    client: httpx.AsyncClient,
) -> None:
    for name in ("redirect_uri", "client_id"):
        params = [*authorize_params().items(), (name, authorize_params()[name])]
        assert_page(await client.get("/authorize", params=params))


@pytest.mark.parametrize("name", ["scope", "code_challenge", "response_type", "prompt"])
async def test_sec_13_repeated_parameter_is_invalid_request(
    client: httpx.AsyncClient, name: str
) -> None:
    params = [*authorize_params(prompt="consent").items(), (name, "x")]
    assert_redirect_error(await client.get("/authorize", params=params), "invalid_request")


async def test_sec_13_repeated_state_is_refused_without_echo(client: httpx.AsyncClient) -> None:
    params = [*authorize_params().items(), ("state", "other")]
    response = await client.get("/authorize", params=params)
    assert_redirect_error(response, "invalid_request", state=None)


@pytest.mark.parametrize(
    "resource", ["https://rs.example/mcp#x", "relative/path", "http://rs.example/mcp"]
)
async def test_sec_15_malformed_resource_is_invalid_target(
    client: httpx.AsyncClient, resource: str
) -> None:
    assert_redirect_error(await authorize(client, resource=resource), "invalid_target")


async def test_sec_15_unknown_resource_under_the_registered_policy(
    make_app: AppFactory,
) -> None:
    app, ctx = await make_app(login=FAST_LOGIN, resource_policy="registered")
    async with ctx.db.unit_of_work() as stores:
        # SQLite shares the first app's file; PostgreSQL starts each app from empty tables.
        if await stores.clients.get("app_test") is None:
            await stores.clients.add(make_client())
        await stores.resources.add(Resource(uri="https://rs.example/mcp"))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as c:
        response = await authorize(c, resource="https://unknown.test/mcp")
        assert_redirect_error(response, "invalid_target")
        known = await authorize(c, resource="https://rs.example/mcp")
        assert known.status_code == 200


async def test_sec_15_two_resources_are_invalid_target(client: httpx.AsyncClient) -> None:
    params = [
        *authorize_params().items(),
        ("resource", "https://a.example/mcp"),
        ("resource", "https://b.example/mcp"),
    ]
    assert_redirect_error(await client.get("/authorize", params=params), "invalid_target")


async def test_sec_16_self_registered_client_cannot_ask_for_admin(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await signed_in(client)
    await add_client(ctx, client_id="dcr", origin="dynamic", kind="app")
    response = await authorize(client, client_id="dcr", scope="admin")
    assert_redirect_error(response, "invalid_scope")


async def test_sec_16_agents_cannot_ask_for_agent_forbidden_scopes(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="bot", kind="agent")
    assert_redirect_error(await authorize(client, client_id="bot", scope="admin"), "invalid_scope")


async def test_sec_16_scope_must_be_within_the_registered_scope(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="narrow", scope="read:calendar")
    narrower = await authorize(client, client_id="narrow", scope="read:calendar:next-7-days")
    assert narrower.status_code == 200
    wider = await authorize(client, client_id="narrow", scope="write:email:send")
    assert_redirect_error(wider, "invalid_scope")


@pytest.mark.parametrize("scope", ["unknown:scope", 'bad"scope'])
async def test_unknown_or_malformed_scope_is_invalid_scope(
    client: httpx.AsyncClient, scope: str
) -> None:
    assert_redirect_error(await authorize(client, scope=scope), "invalid_scope")


# -- prompt (OIDC Core §3.1.2.1) -------------------------------------------------------------


async def test_prompt_none_without_a_session_is_login_required(
    client: httpx.AsyncClient,
) -> None:
    assert_redirect_error(await authorize(client, prompt="none"), "login_required")


async def test_prompt_none_without_consent_is_consent_required(
    client: httpx.AsyncClient,
) -> None:
    await signed_in(client)
    response = await authorize(client, prompt="none", scope="write:email:send")
    assert_redirect_error(response, "consent_required")


async def test_prompt_none_with_consent_issues_a_code(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    response = await authorize(client, prompt="none")
    assert response.status_code == 302
    assert set(query_of(response.headers["location"])) == {"code", "state", "iss"}


async def test_prompt_login_asks_again(client: httpx.AsyncClient) -> None:
    await signed_in(client)
    response = await authorize(client, prompt="login")
    assert response.status_code == 200 and 'name="password"' in response.text


@pytest.mark.parametrize("prompt", ["none login", "select_account", "bogus"])
async def test_invalid_prompt_values(client: httpx.AsyncClient, prompt: str) -> None:
    assert_redirect_error(await authorize(client, prompt=prompt), "invalid_request")


# -- SEC-17: no silent re-approval for clients whose identity cannot be proven ---------------


async def test_sec_17_public_loopback_client_is_asked_every_time(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="cli", redirect_uris=("http://127.0.0.1/cb",))
    redirect = "http://127.0.0.1:4000/cb"
    await authorize_code(client, client_id="cli", redirect_uri=redirect, scope="read:calendar")
    again = await authorize(client, client_id="cli", redirect_uri=redirect)
    assert again.status_code == 200
    assert 'name="decision"' in again.text
    none = await authorize(client, client_id="cli", redirect_uri=redirect, prompt="none")
    assert_redirect_error(none, "consent_required", to=redirect)


async def test_sec_17_private_use_scheme_client_is_asked_every_time(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    redirect = "com.example.app:/cb"
    await add_client(ctx, client_id="native", redirect_uris=(redirect,), application_type="native")
    await authorize_code(client, client_id="native", redirect_uri=redirect, scope="read:calendar")
    again = await authorize(client, client_id="native", redirect_uri=redirect)
    assert again.status_code == 200 and 'name="decision"' in again.text


async def test_sec_17_https_client_with_consent_is_not_asked_again(
    client: httpx.AsyncClient,
) -> None:
    await signed_in(client)
    response = await authorize(client)
    assert response.status_code == 302
    assert "code" in query_of(response.headers["location"])


async def test_sec_17_consent_is_asked_again_for_another_redirect_uri(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await add_client(ctx, client_id="two", redirect_uris=(REDIRECT_URI, "https://app.example/b"))
    await authorize_code(client, client_id="two", scope="read:calendar")
    other = await authorize(client, client_id="two", redirect_uri="https://app.example/b")
    assert other.status_code == 200 and 'name="decision"' in other.text


class BusyDirectory:
    """A client directory whose metadata-document fetch budget is spent."""

    async def find(self, client_id: str, store: Any, consents: Any = None) -> None:
        raise TooManyRequestsError(30, "Too many client metadata fetches")

    async def aclose(self) -> None:
        return None


async def test_rate_limited_client_lookup_is_a_429_page(
    client: httpx.AsyncClient, ctx: AppContext
) -> None:
    await ctx.clients.aclose()
    ctx.clients = BusyDirectory()  # type: ignore[assignment]
    response = await authorize(client, client_id="https://c.example/cid")
    assert_page(response, 429)
    assert response.headers["retry-after"] == "30"
