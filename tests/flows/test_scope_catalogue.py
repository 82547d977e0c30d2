"""The scope catalogue file is followed while Warden runs (issue 4, item 5).

An operator adds a scope to the TOML file; once ``scopes_reload_seconds`` have passed, the
next request sees it everywhere the one shared catalogue is read: the authorization endpoint,
the consent page's words and the discovery document. A scope taken out is ``invalid_scope``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import add_client, add_user, authorize_params, consent_page, query_of

from warden.clock import FrozenClock
from warden.web.context import AppContext

FIRST = '[scopes."files:read"]\ndescription = "Read your files"\n'
SECOND = FIRST + '[scopes."files:write"]\ndescription = "Change your files"\nsensitivity = "high"\n'


def write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "scopes.toml"
    write(path, FIRST, 1_000_000_000)
    return path


@pytest.fixture
async def app_ctx(make_app: Any, catalogue: Path) -> tuple[Any, AppContext]:
    return await make_app(scopes_file=catalogue, scopes_reload_seconds=5)


@pytest.fixture(autouse=True)
async def seeded(ctx: AppContext) -> None:
    await add_user(ctx)
    await add_client(ctx)


async def authorize_error(client: httpx.AsyncClient, scope: str) -> str | None:
    response = await client.get("/authorize", params=authorize_params(scope=scope))
    if response.status_code != 302:
        return None
    return query_of(response.headers["location"]).get("error")


async def test_a_scope_added_to_the_file_is_accepted_after_the_interval(
    client: httpx.AsyncClient, catalogue: Path, clock: FrozenClock
) -> None:
    assert await authorize_error(client, "files:write") == "invalid_scope"
    write(catalogue, SECOND, 2_000_000_000)
    assert await authorize_error(client, "files:write") == "invalid_scope"  # not looked yet
    clock.advance(5)
    page = await consent_page(client, scope="files:write")
    assert "Change your files" in page.text
    metadata = await client.get("/.well-known/oauth-authorization-server")
    assert metadata.json()["scopes_supported"] == ["files:read", "files:write"]


async def test_a_scope_taken_out_of_the_file_is_refused(
    client: httpx.AsyncClient, catalogue: Path, clock: FrozenClock
) -> None:
    write(catalogue, SECOND, 2_000_000_000)
    clock.advance(5)
    assert await authorize_error(client, "files:write") is None
    write(catalogue, FIRST, 3_000_000_000)
    clock.advance(5)
    assert await authorize_error(client, "files:write") == "invalid_scope"


async def test_a_broken_file_leaves_the_catalogue_as_it_was(
    client: httpx.AsyncClient, catalogue: Path, clock: FrozenClock
) -> None:
    write(catalogue, "[scopes\n", 2_000_000_000)
    clock.advance(5)
    assert await authorize_error(client, "files:read") is None
    assert await authorize_error(client, "files:write") == "invalid_scope"
