"""`warden mcp-demo`: the demo MCP server, protected by Warden, on its own.

Started next to `warden serve` with the defaults of both, the two work together with no
setup: the demo trusts the issuer ``http://127.0.0.1:8000``, its resource
``http://127.0.0.1:8001/mcp`` is accepted by Warden's default resource policy (loopback http
in development), and Warden's default scope catalogue knows its scopes. See
:mod:`warden.demo.mcp_server` for the tools and their scopes.
"""

from __future__ import annotations

import logging.config
from typing import Annotated

import typer
import uvicorn

from warden.cli.serve import LogLevel, logging_config
from warden.demo.servers import PortInUseError, bind_loopback

__all__ = ["mcp_demo"]


def mcp_demo(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8001,
    authorization_server: Annotated[
        str,
        typer.Option(help="The issuer to trust, exactly as its metadata spells it."),
    ] = "http://127.0.0.1:8000",
    log_level: Annotated[LogLevel, typer.Option(help="Least severe level logged.")] = (
        LogLevel.info
    ),
) -> None:
    """Run the demo MCP server (streamable HTTP at /mcp) on 127.0.0.1."""
    from warden.demo.mcp_server import create_demo_app, resource_uri  # imports the mcp SDK

    try:
        sock = bind_loopback(port)
    except PortInUseError as exc:
        typer.echo(f"warden mcp-demo: {exc}; choose another with --port.", err=True)
        raise typer.Exit(1) from exc
    resource = resource_uri(sock.getsockname()[1])
    try:
        app = create_demo_app(resource=resource, authorization_server=authorization_server)
    except ValueError as exc:
        sock.close()
        typer.echo(f"warden mcp-demo: {exc}", err=True)
        raise typer.Exit(1) from exc
    log_config = logging_config(log_level)
    # Root logs (the mcp SDK's) through uvicorn's handler, replacing the SDK's rich one.
    log_config["root"] = {"handlers": ["default"], "level": log_level.upper()}
    logging.config.dictConfig(log_config)
    typer.echo(
        f"Demo MCP server at {resource}, trusting {authorization_server}.\n"
        "Point an MCP client at it: it discovers the authorization server from the 401."
    )
    config = uvicorn.Config(
        app, log_config=log_config, log_level=log_level.value, server_header=False
    )
    uvicorn.Server(config).run(sockets=[sock])
