"""The ``warden`` command."""

from __future__ import annotations

import typer

from warden.cli import clients, db, keys, serve, users

__all__ = ["app"]

app = typer.Typer(
    help="Warden: the OAuth 2.1 authorization server for AI agents.", no_args_is_help=True
)
app.command("serve")(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(clients.app, name="clients")
