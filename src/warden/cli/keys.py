"""`warden keys ...`: rotate, list and retire the access-token signing keys.

A running server picks up what these commands change within ``tokens.key_refresh_seconds``
(each worker reloads its keys), so rotation needs no restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from warden.cli._support import run_with_stores, when
from warden.clock import SystemClock
from warden.errors import WardenError
from warden.oauth.ports import KeyStore
from warden.settings import Settings
from warden.tokens.encryption import KeyCipher
from warden.tokens.keys import KeyRing
from warden.web.context import fernet_key, load_master_secret

__all__ = ["app"]

app = typer.Typer(help="Rotate, list and retire the signing keys.", no_args_is_help=True)

T = TypeVar("T")


class Algorithm(StrEnum):
    ES256 = "ES256"
    EdDSA = "EdDSA"


@app.command()
def rotate(
    alg: Annotated[
        Algorithm | None,
        typer.Option("--alg", help="Algorithm of the new key (default: tokens.signing_alg)."),
    ] = None,
) -> None:
    """Create a new active key; the previous one keeps verifying until retired."""
    key = _run(lambda ring, store: ring.rotate(store, alg.value if alg else None))
    console = Console()
    console.print(f"Active key is now [bold]{key.kid}[/bold] ({key.alg}).")
    console.print("Older keys stay published; retire them once their tokens have expired.")


@app.command("list")
def list_keys() -> None:
    """Show every key with its state: active, published or retired."""
    keys = _run(lambda ring, store: store.list())
    if not keys:
        typer.echo("No signing keys yet: `warden serve` or `warden keys rotate` creates one.")
        return
    table = Table("kid", "alg", "state", "created")
    for key in keys:
        table.add_row(key.kid, key.alg, key.state, when(key.created_at))
    Console().print(table)


@app.command()
def retire(
    kid: Annotated[str, typer.Argument(help="The kid of a published key.")],
    force: Annotated[
        bool, typer.Option("--force", help="Retire even if its tokens may not have expired.")
    ] = False,
) -> None:
    """Remove a published key from the JWKS; tokens it signed stop verifying."""
    settings = Settings()
    # Tokens the key signed live at most this long after it stopped signing; workers may
    # keep signing with it until their next key reload.
    overlap = 0 if force else _longest_token_life(settings)
    _run(lambda ring, store: ring.retire(store, kid, overlap_seconds=overlap), settings)
    typer.echo(f"Retired {kid}.")


def _run(work: Callable[[KeyRing, KeyStore], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` in one unit of work against the configured database."""
    settings = settings or Settings()
    master = load_master_secret(settings)
    ring = KeyRing(
        KeyCipher(fernet_key(master, "signing-keys")), SystemClock(), settings.tokens.signing_alg
    )
    try:
        return run_with_stores(settings, lambda stores: work(ring, stores.keys))
    except WardenError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


def _longest_token_life(settings: Settings) -> int:
    tokens = settings.tokens
    ttl = max(tokens.access_token_ttl_seconds, tokens.client_credentials_ttl_seconds)
    return ttl + tokens.key_refresh_seconds
