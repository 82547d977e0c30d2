"""`warden resources ...`: the protected resources (RFC 8707) Warden issues tokens for.

A token is for one resource: the ``resource`` a client asks for becomes its ``aud``. With
``resource_policy = "any"`` (the default) any absolute https resource, or loopback http in
development, is accepted, and this list is informational. With ``"registered"``
(``WARDEN_RESOURCE_POLICY=registered``) only the resources added here are accepted; a
request for any other gets ``invalid_target`` (SEC-15), and a token's ``aud`` is the URI
exactly as added here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from warden.cli._support import fail, run_with_stores, when
from warden.clock import SystemClock
from warden.errors import OAuthError
from warden.oauth.model import Resource
from warden.oauth.ports import Stores
from warden.oauth.resources import canonical_resource
from warden.oauth.scopes import ScopeCatalogue, format_scope, parse_scope
from warden.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Add, list and remove protected resources.", no_args_is_help=True)


@app.command()
def add(
    uri: Annotated[
        str, typer.Argument(help="The resource identifier, e.g. https://mcp.example/mcp")
    ],
    scopes: Annotated[
        str, typer.Option("--scopes", help='Its scopes, space-separated: "read:calendar ...".')
    ] = "",
    name: Annotated[str | None, typer.Option(help="A name for people.")] = None,
) -> None:
    """Add a resource (or replace its scopes and name)."""
    settings = Settings()
    try:
        canonical = canonical_resource(uri, allow_loopback_http=settings.is_development)
        wanted = parse_scope(scopes.strip() or None)
        ScopeCatalogue.load(settings.scopes_file).check_known(wanted)
    except OAuthError as exc:
        fail(f"{exc.description or exc.error}: {uri}")
    resource = Resource(canonical, tuple(sorted(wanted)), name, SystemClock().now())

    async def work(stores: Stores) -> bool:
        existed = await stores.resources.get(canonical) is not None
        await stores.resources.add(resource)
        return existed

    replaced = run_with_stores(settings, work)
    typer.echo(f"{'Updated' if replaced else 'Added'} {canonical}")
    if settings.resource_policy == "any":
        typer.echo(
            "Note: the resource policy is `any`, so other resources are accepted too; "
            "set WARDEN_RESOURCE_POLICY=registered to accept only the ones added here."
        )


@app.command("list")
def list_resources() -> None:
    """Show every resource: URI, name, scopes and when it was added."""
    settings = Settings()
    resources = run_with_stores(settings, lambda s: s.resources.list())
    if not resources:
        typer.echo("No resources yet: add one with `warden resources add URI --scopes ...`.")
    for resource in sorted(resources, key=lambda r: r.uri):
        row = [
            resource.uri,
            resource.name or "-",
            format_scope(resource.scopes) or "-",
            when(resource.created_at),
        ]
        typer.echo("\t".join(row))
    typer.echo(f"Resource policy: {settings.resource_policy}", err=True)


@app.command()
def remove(uri: Annotated[str, typer.Argument(help="The resource identifier to remove.")]) -> None:
    """Remove a resource; under the `registered` policy it gets no new tokens."""
    settings = Settings()
    try:
        canonical = canonical_resource(uri, allow_loopback_http=True)
    except OAuthError:
        canonical = uri
    if not run_with_stores(settings, lambda s: s.resources.remove(canonical)):
        fail(f"No resource {uri}.")
    typer.echo(f"Removed {canonical}; tokens already issued for it stay valid until they expire.")
