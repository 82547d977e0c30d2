"""Helpers for flows that need an authorization code: a user, a client, and a browser walk.

:func:`authorize_code` plays the browser and the person the way the official MCP clients are
driven headlessly (mcp-auth.md recipe 6b): follow redirects, and on each HTML page post the
first form with its hidden inputs, the credentials and an approving decision.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from warden.oauth.model import Client, User
from warden.oauth.pkce import s256_challenge
from warden.oauth.users import add_user as _add_user
from warden.web.context import AppContext

__all__ = [
    "PASSWORD",
    "REDIRECT_URI",
    "VERIFIER",
    "AuthorizationFailed",
    "add_client",
    "add_user",
    "audit_events",
    "authorize_code",
    "authorize_params",
    "consent_page",
    "count_rows",
    "make_client",
    "parse_form",
    "query_of",
    "sign_in",
    "submit",
]

PASSWORD = "correct horse battery staple"
VERIFIER = "v" * 20 + "-._~" + "0123456789" * 5  # 74 unreserved characters
REDIRECT_URI = "https://app.example/cb"

_FORM = re.compile(r'<form[^>]*action="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


class AuthorizationFailed(AssertionError):
    """The walk ended somewhere other than a redirect carrying a code."""


def make_client(**overrides: Any) -> Client:
    """An admin-registered public client with one https redirect URI."""
    client = Client(
        client_id="app_test",
        origin="static",
        kind="app",
        token_endpoint_auth_method="none",
        redirect_uris=(REDIRECT_URI,),
        grant_types=("authorization_code", "refresh_token"),
        metadata={"client_name": "Test App", "client_uri": "https://app.example/"},
    )
    return replace(client, **overrides)


async def add_client(ctx: AppContext, **overrides: Any) -> Client:
    """Store :func:`make_client` (with ``overrides``) directly, bypassing registration."""
    client = make_client(**overrides)
    async with ctx.db.unit_of_work() as stores:
        await stores.clients.add(client)
    return client


async def add_user(ctx: AppContext, username: str = "alice", password: str = PASSWORD) -> User:
    async with ctx.db.unit_of_work() as stores:
        return await _add_user(
            stores.users, username, password, passwords=ctx.passwords, now=ctx.clock.now()
        )


def parse_form(html: str) -> tuple[str, dict[str, str]]:
    """The first form's action and every hidden input, exactly as recipe 6b reads them."""
    action = _FORM.search(html)
    if action is None:
        raise AuthorizationFailed(f"no form in page:\n{html[:2000]}")
    return action[1].replace("&amp;", "&"), dict(_HIDDEN.findall(html))


def authorize_params(**overrides: str | None) -> dict[str, str]:
    """A valid authorization request for :func:`make_client`; ``None`` drops a parameter."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "app_test",
        "redirect_uri": REDIRECT_URI,
        "code_challenge": s256_challenge(VERIFIER),
        "code_challenge_method": "S256",
        "state": "s-123",
        "scope": "read:calendar",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


async def submit(client: httpx.AsyncClient, page: httpx.Response, **fields: str) -> httpx.Response:
    """Post the page's first form: its hidden inputs plus ``fields``."""
    action, data = parse_form(page.text)
    return await client.post(action, data={**data, **fields})


async def sign_in(
    client: httpx.AsyncClient,
    page: httpx.Response,
    username: str = "alice",
    password: str = PASSWORD,
) -> httpx.Response:
    """Submit the sign-in page shown in ``page``."""
    assert 'name="password"' in page.text, page.text[:2000]
    return await submit(client, page, username=username, password=password)


async def consent_page(
    client: httpx.AsyncClient,
    *,
    username: str = "alice",
    password: str = PASSWORD,
    **overrides: str | None,
) -> httpx.Response:
    """Start an authorization request and sign in if asked; return the consent page."""
    response = await client.get("/authorize", params=authorize_params(**overrides))
    if 'name="password"' in response.text:
        response = await sign_in(client, response, username=username, password=password)
    if response.status_code == 303:
        response = await client.get(response.headers["location"])
    assert 'name="decision"' in response.text, (response.status_code, response.text[:2000])
    return response


def query_of(location: str) -> dict[str, str]:
    """The query of a redirect ``Location`` as single values (repeats fail the test)."""
    parsed = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert all(len(v) == 1 for v in parsed.values()), location
    return {k: v[0] for k, v in parsed.items()}


def _at_redirect_uri(location: str, redirect_uri: str) -> bool:
    here, there = urlsplit(location), urlsplit(redirect_uri)
    return (here.scheme, here.hostname, here.path) == (there.scheme, there.hostname, there.path)


async def authorize_code(
    client: httpx.AsyncClient,
    *,
    client_id: str,
    redirect_uri: str = REDIRECT_URI,
    scope: str | None = None,
    resource: str | None = None,
    username: str = "alice",
    password: str = PASSWORD,
    code_verifier: str = VERIFIER,
    state: str = "s-123",
    extra: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Walk authorize → login → consent as a person who approves; return (code, Location).

    Cookies stay in ``client``, so a second call reuses the session (and remembered consent).
    :raises AuthorizationFailed: an error page, or a redirect without a code.
    """
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": s256_challenge(code_verifier),
        "code_challenge_method": "S256",
        "state": state,
        **({"scope": scope} if scope is not None else {}),
        **({"resource": resource} if resource is not None else {}),
        **(extra or {}),
    }
    response = await client.get("/authorize", params=params)
    for _ in range(6):
        if response.is_redirect:
            location = response.headers["location"]
            if _at_redirect_uri(location, redirect_uri):
                query = query_of(location)
                if "code" not in query:
                    raise AuthorizationFailed(f"redirected without a code: {location}")
                return query["code"], location
            response = await client.get(location)
            continue
        if response.status_code != 200:
            raise AuthorizationFailed(f"{response.status_code}:\n{response.text[:2000]}")
        action, data = parse_form(response.text)
        if 'name="password"' in response.text:
            data.update(username=username, password=password)
        if 'name="decision"' in response.text:
            data["decision"] = "approve"
        response = await client.post(action, data=data)
    raise AuthorizationFailed("the redirect URI was never reached")


async def count_rows(ctx: AppContext, table: str) -> int:
    """How many rows ``table`` holds (for "nothing was stored" assertions)."""
    from sqlalchemy import text

    async with ctx.db.engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def audit_events(ctx: AppContext) -> list[tuple[str, str | None, str | None]]:
    """(event, client_id, actor_type) of every audit event, oldest first."""
    from sqlalchemy import text

    async with ctx.db.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT event, client_id, actor_type FROM audit_events ORDER BY at, id")
        )
        return [(r[0], r[1], r[2]) for r in rows]
