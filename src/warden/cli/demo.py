"""`warden demo`: the whole agent flow against a real MCP server, on this machine, now.

Starts Warden and the demo MCP server on 127.0.0.1 with a throwaway SQLite database, walks
the official MCP Python client through discovery, registration, consent, tokens and step-up
while printing each step, then keeps both servers running until Ctrl-C (or exits with
``--exit``). The logic lives in :mod:`warden.demo.runner`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from warden.demo.servers import PortInUseError

__all__ = ["demo"]


def demo(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Authorization server port (0: any free).")
    ] = 8000,
    mcp_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Demo MCP server port (0: any free).")
    ] = 8001,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--exit",
            help="Keep both servers running after the walk, until Ctrl-C, or exit.",
        ),
    ] = True,
) -> None:
    """Run Warden and a demo MCP server, and walk an AI agent through authorization."""
    from warden.demo.runner import DemoOptions, run_demo  # imports the mcp SDK: only when used

    console = Console(highlight=False)
    try:
        with _quiet_logging():
            run_demo(DemoOptions(port=port, mcp_port=mcp_port, serve=serve), console)
    except PortInUseError as exc:
        typer.echo(
            f"warden demo: {exc}. Is `warden serve` or another demo running? "
            "Stop it, or choose other ports (--port/--mcp-port; 0 picks a free one).",
            err=True,
        )
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        console.print_exception(max_frames=5)
        typer.echo(f"warden demo failed: {exc}", err=True)
        raise typer.Exit(1) from exc


@contextmanager
def _quiet_logging() -> Iterator[None]:
    """Only problems on the terminal: the demo narrates the rest itself.

    A root handler is configured before the ``mcp`` SDK would install its own (verbose) one.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Warden's start-up warnings about development settings are summed up by the demo.
    warden_log = logging.getLogger("warden")
    previous = warden_log.level
    warden_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        warden_log.setLevel(previous)
