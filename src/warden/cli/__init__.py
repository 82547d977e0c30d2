"""The ``warden`` command."""

from __future__ import annotations

import typer

from warden.cli import clients, db, demo, keys, mcp_demo, resources, serve, users

__all__ = ["app"]

app = typer.Typer(
    help="Warden: the OAuth 2.1 authorization server for AI agents.", no_args_is_help=True
)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("mcp-demo")(mcp_demo.mcp_demo)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(clients.app, name="clients")
app.add_typer(resources.app, name="resources")
