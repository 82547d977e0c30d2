"""`warden clients ...`: pre-register, list, remove and reap OAuth clients.

``add`` runs the same metadata checks as dynamic registration (RFC 7591 §2) and prints the
client secret once; only its digest is stored. ``reap`` deletes dynamic clients unused for
``registration.idle_reap_seconds`` (``warden serve`` also does this periodically).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from warden.cli._support import fail, when
from warden.errors import OAuthError
from warden.oauth.model import Client
from warden.oauth.ports import Stores
from warden.settings import Settings
from warden.web.context import AppContext, build_context

__all__ = ["app"]

app = typer.Typer(help="Pre-register, list, remove and reap OAuth clients.", no_args_is_help=True)

T = TypeVar("T")


@app.command()
def add(
    name: Annotated[str, typer.Option("--name", help="Client name shown on the consent page.")],
    redirect_uri: Annotated[
        list[str] | None, typer.Option("--redirect-uri", help="A redirect URI (repeatable).")
    ] = None,
    auth_method: Annotated[
        str,
        typer.Option(
            "--auth-method",
            help="none, client_secret_basic, client_secret_post or private_key_jwt.",
        ),
    ] = "client_secret_basic",
    grant_type: Annotated[
        list[str] | None,
        typer.Option("--grant-type", help="A grant type (repeatable; default authorization_code)."),
    ] = None,
    scope: Annotated[str | None, typer.Option(help="Scopes the client may ask for.")] = None,
    kind: Annotated[str, typer.Option(help="agent, app or service.")] = "agent",
    application_type: Annotated[str, typer.Option(help="web or native.")] = "web",
    jwks_file: Annotated[
        typer.FileText | None, typer.Option(help="JWK Set file for private_key_jwt.")
    ] = None,
    publisher: Annotated[
        str | None, typer.Option(help="Publisher's name, shown wherever the client is.")
    ] = None,
    software_id: Annotated[str | None, typer.Option(help="RFC 7591 software_id.")] = None,
    software_version: Annotated[str | None, typer.Option(help="RFC 7591 software_version.")] = None,
) -> None:
    """Pre-register a client and print its credentials (the secret only this once)."""
    described = {
        "publisher": publisher,
        "software_id": software_id,
        "software_version": software_version,
    }
    metadata: dict[str, Any] = {
        "client_name": name,
        "redirect_uris": redirect_uri or [],
        "token_endpoint_auth_method": auth_method,
        "client_kind": kind,
        "application_type": application_type,
        **({"grant_types": grant_type} if grant_type else {}),
        **({"scope": scope} if scope else {}),
        **{k: v for k, v in described.items() if v is not None},
    }
    if jwks_file is not None:
        metadata["jwks"] = json.load(jwks_file)
    result = _run(lambda ctx, s: ctx.registrar.add_static(metadata, stores=s))
    typer.echo(f"client_id:     {result.client.client_id}")
    if result.client_secret is not None:
        typer.echo(f"client_secret: {result.client_secret}")
        typer.echo("Store the secret now: Warden keeps only its digest and cannot show it again.")


@app.command("list")
def list_clients() -> None:
    """Show every client: id, origin, kind, auth method, name, created and last used."""
    clients = _run(lambda ctx, s: s.clients.list_all())
    if not clients:
        typer.echo("No clients yet: add one with `warden clients add --name NAME`.")
        return
    for client in clients:
        typer.echo("\t".join(_row(client)))


@app.command()
def remove(client_id: Annotated[str, typer.Argument(help="The client_id to remove.")]) -> None:
    """Delete a client, revoke every grant it holds and forget its consents."""
    if not _run(lambda ctx, s: ctx.registrar.remove(client_id, stores=s)):
        fail(f"No client {client_id}.")
    typer.echo(f"Removed {client_id}; its grants are revoked.")


@app.command()
def reap() -> None:
    """Delete dynamic clients unused for registration.idle_reap_seconds."""
    reaped = _run(lambda ctx, s: ctx.registrar.reap(s))
    typer.echo(f"Reaped {len(reaped)} idle dynamic client{'s' if len(reaped) != 1 else ''}.")
    for client_id in reaped:
        typer.echo(client_id)


def _row(client: Client) -> list[str]:
    last_used = when(client.last_used_at) if client.last_used_at else "never used"
    return [
        client.client_id,
        client.origin,
        client.kind,
        client.token_endpoint_auth_method,
        client.client_name or "-",
        when(client.created_at),
        last_used,
    ]


def _run(work: Callable[[AppContext, Stores], Awaitable[T]]) -> T:
    """Run ``work`` in one unit of work against the configured database."""

    async def main() -> T:
        ctx = build_context(Settings())
        try:
            async with ctx.db.unit_of_work() as stores:
                return await work(ctx, stores)
        finally:
            await ctx.limiter.aclose()
            await ctx.db.dispose()

    try:
        return asyncio.run(main())
    except OAuthError as exc:
        fail(exc.description or exc.error)
