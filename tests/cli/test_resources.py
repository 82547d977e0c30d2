"""`warden resources add|list|remove`, and what the `registered` policy does with the list."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from tests.conftest import ISSUER, AppFactory
from typer.testing import CliRunner

from warden.cli import app
from warden.oauth.model import Resource
from warden.settings import Settings
from warden.storage.engine import Database

runner = CliRunner()
MCP = "https://mcp.example.com/mcp"


def _stored(settings: Settings) -> list[Resource]:
    async def read() -> list[Resource]:
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as stores:
                return list(await stores.resources.list())
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_add_list_remove(env: Settings) -> None:
    added = runner.invoke(
        app,
        ["resources", "add", MCP, "--scopes", "read:calendar write:email:send", "--name", "Mail"],
    )
    assert added.exit_code == 0, added.output
    assert f"Added {MCP}" in added.output
    assert "WARDEN_RESOURCE_POLICY=registered" in added.output  # the list is advisory under `any`

    listing = runner.invoke(app, ["resources", "list"])
    assert listing.exit_code == 0
    assert listing.stdout.startswith(f"{MCP}\tMail\tread:calendar write:email:send\t")

    removed = runner.invoke(app, ["resources", "remove", MCP])
    assert removed.exit_code == 0
    assert _stored(env) == []
    assert "No resources yet" in runner.invoke(app, ["resources", "list"]).stdout


def test_add_again_updates_and_stores_the_canonical_form(env: Settings) -> None:
    runner.invoke(app, ["resources", "add", MCP, "--scopes", "read:calendar"])
    again = runner.invoke(app, ["resources", "add", "HTTPS://MCP.Example.com/mcp"])

    assert again.exit_code == 0
    assert f"Updated {MCP}" in again.output
    [resource] = _stored(env)
    assert (resource.uri, resource.scopes) == (MCP, ())


@pytest.mark.parametrize(
    ("uri", "scopes", "message"),
    [
        ("http://mcp.example.com/mcp", "", "https"),
        ("https://mcp.example.com/mcp#top", "", "fragment"),
        ("mcp.example.com", "", "absolute"),
        (MCP, "no:such:scope", "Unknown scope"),
    ],
)
def test_add_refuses_what_could_never_be_an_audience(
    env: Settings, uri: str, scopes: str, message: str
) -> None:
    result = runner.invoke(app, ["resources", "add", uri, "--scopes", scopes])

    assert result.exit_code == 1
    assert message in result.output
    assert _stored(env) == []


def test_remove_of_an_unknown_resource_fails(env: Settings) -> None:
    result = runner.invoke(app, ["resources", "remove", MCP])

    assert result.exit_code == 1
    assert f"No resource {MCP}" in result.output


async def test_registered_policy_accepts_only_added_resources(
    env: Settings, make_app: AppFactory
) -> None:
    """SEC-15 with the list the command keeps: added → accepted; anything else invalid_target."""
    warden, ctx = await make_app(resource_policy="registered")
    command = ["resources", "add", MCP, "--scopes", "read:calendar"]
    added = await asyncio.to_thread(runner.invoke, app, command)  # it runs its own event loop
    assert added.exit_code == 0, added.output
    metadata = {
        "client_name": "Nightly agent",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_post",
        "scope": "read:calendar",
    }
    async with ctx.db.unit_of_work() as stores:
        registered = await ctx.registrar.add_static(metadata, stores=stores)
    assert registered.client_secret is not None
    form = {
        "grant_type": "client_credentials",
        "client_id": registered.client.client_id,
        "client_secret": registered.client_secret,
        "scope": "read:calendar",
    }
    transport = httpx.ASGITransport(app=warden)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        accepted = await client.post("/token", data={**form, "resource": MCP})
        refused = await client.post("/token", data={**form, "resource": "https://other.example"})

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["access_token"]
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_target"
