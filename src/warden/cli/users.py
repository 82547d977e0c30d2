"""`warden users ...`: add, list and remove the people who sign in."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from warden.cli._support import fail, run_with_stores, when
from warden.clock import SystemClock
from warden.oauth.ports import Stores
from warden.oauth.users import InvalidUsernameError, Passwords, add_user
from warden.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Add, list and remove users.", no_args_is_help=True)


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="Username: 1-64 characters of a-z 0-9 . _ @ + -")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user; the password is asked for twice, hidden, unless --password-stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        fail("The password must not be empty.")
    settings = Settings()
    passwords = Passwords(settings.login)
    now = SystemClock().now()
    try:
        user = run_with_stores(
            settings, lambda s: add_user(s.users, name, password, passwords=passwords, now=now)
        )
    except (InvalidUsernameError, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"Added {user.username} ({user.user_id}).")


@app.command("list")
def list_users() -> None:
    """Show every user: username, id and when it was added."""
    users = run_with_stores(Settings(), lambda s: s.users.list())
    if not users:
        typer.echo("No users yet: add one with `warden users add NAME`.")
        return
    for user in users:
        typer.echo(f"{user.username}\t{user.user_id}\t{when(user.created_at)}")


@app.command()
def remove(name: Annotated[str, typer.Argument(help="The username to remove.")]) -> None:
    """Delete a user, revoke their grants and forget their consents."""
    now = SystemClock().now()

    async def work(stores: Stores) -> bool:
        user = await stores.users.get_by_username(name.strip().lower())
        if user is None:
            return False
        for grant in await stores.grants.list_for_user(user.user_id):
            await stores.grants.revoke(grant.grant_id, now)
        for consent in await stores.consents.list_for_user(user.user_id):
            await stores.consents.delete(user.user_id, consent.client_id)
        return await stores.users.remove(user.username)

    if not run_with_stores(Settings(), work):
        fail(f"No user named {name}.")
    typer.echo(f"Removed {name}; their grants are revoked.")
