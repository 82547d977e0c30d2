"""The demo MCP server: an official-SDK server protected by :mod:`warden.resource`.

Three tools, each needing a different scope, so that a client meets every part of MCP
authorization (mcp-auth.md §2b):

============================  ====================================  ===========================
tool                          scope needed                          note
============================  ====================================  ===========================
``calendar_next_events``      ``read:calendar:next-7-days``         ``read:calendar`` covers it
``email_draft``               ``write:email:draft-only-no-send``
``email_send``                ``write:email:send``                  sensitive: only by step-up
============================  ====================================  ===========================

The 401 challenge and the RFC 9728 metadata advertise the non-sensitive scopes
(:data:`DEFAULT_SCOPES`), so a client that brings no scope of its own asks for those
(MCP "Scope Selection"; RS3, RS11); ``email_send`` answers ``403 insufficient_scope`` until
the client steps up (RS7). The server imports nothing of Warden's authorization server: it
trusts whichever issuer it is given, through that issuer's metadata and JWKS.

Tools return fixed demo data (nothing is read or sent anywhere) and name the caller: the
person (``sub``), the agent acting for them (``act``) and the ``actor_type``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from mcp.server import MCPServer
from mcp_types import ToolAnnotations
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warden.resource import (
    BearerVerifier,
    ProtectedResourceMetadata,
    TokenVerifier,
    current_principal,
)
from warden.resource.mcp import protect_mcp

__all__ = [
    "CALENDAR_SCOPE",
    "DEFAULT_AUTHORIZATION_SERVER",
    "DEFAULT_PORT",
    "DEFAULT_SCOPES",
    "DRAFT_SCOPE",
    "SEND_SCOPE",
    "TOOL_SCOPES",
    "build_mcp_server",
    "create_demo_app",
    "resource_uri",
]

DEFAULT_PORT: Final = 8001
DEFAULT_AUTHORIZATION_SERVER: Final = "http://127.0.0.1:8000"
"""``warden serve``'s default issuer: the two commands work together unconfigured."""

CALENDAR_SCOPE: Final = "read:calendar:next-7-days"
DRAFT_SCOPE: Final = "write:email:draft-only-no-send"
SEND_SCOPE: Final = "write:email:send"

TOOL_SCOPES: Final[Mapping[str, tuple[str, ...]]] = {
    "calendar_next_events": (CALENDAR_SCOPE,),
    "email_draft": (DRAFT_SCOPE,),
    "email_send": (SEND_SCOPE,),
}
DEFAULT_SCOPES: Final = (CALENDAR_SCOPE, DRAFT_SCOPE)
"""What a client should ask for at first: everything but the sensitive ``email_send``."""

_EVENTS: Final = (
    {"day": "Monday", "time": "09:30", "title": "Team stand-up", "where": "Room 4.1"},
    {"day": "Tuesday", "time": "14:00", "title": "Design review: agent consent", "where": "Video"},
    {"day": "Thursday", "time": "12:30", "title": "Lunch with Sam", "where": "Café Nord"},
    {"day": "Friday", "time": "16:00", "title": "Release retrospective", "where": "Room 2.3"},
)


def resource_uri(port: int, host: str = "127.0.0.1") -> str:
    """The demo's resource identifier, which is also the ``aud`` of its tokens (RFC 8707).

    One spelling everywhere (metadata, verifier, clients): audiences compare byte for byte.
    """
    return f"http://{host}:{port}/mcp"


def _caller() -> dict[str, Any]:
    """Who called, from the verified token (never the token itself: SEC-88)."""
    principal = current_principal()
    if principal is None:  # unreachable behind protect_mcp; a tool must not guess
        raise RuntimeError("the demo tools run only behind warden.resource")
    actor = principal.actor
    return {
        "user": principal.user_id,
        "agent": actor.subject if actor is not None else None,
        "actor_type": principal.actor_type,
        "client_id": principal.client_id,
    }


def _message_id(kind: str, to: str, subject: str, body: str) -> str:
    digest = hashlib.sha256("\x00".join((kind, to, subject, body)).encode()).hexdigest()
    return f"{kind}-{digest[:12]}"


def build_mcp_server() -> MCPServer:
    """The MCP server with the three demo tools (unprotected: see :func:`create_demo_app`)."""
    mcp = MCPServer(
        "warden-demo",
        instructions="A demo calendar and mailbox protected by Warden. Nothing here is real.",
    )

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def calendar_next_events() -> dict[str, Any]:
        """The caller's calendar events for the next 7 days (demo data)."""
        return {"caller": _caller(), "events": [dict(event) for event in _EVENTS]}

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
    def email_draft(to: str, subject: str, body: str) -> dict[str, Any]:
        """Save an email draft; it is not sent (demo: nothing is stored)."""
        draft_id = _message_id("draft", to, subject, body)
        return {"caller": _caller(), "draft_id": draft_id, "to": to, "subject": subject}

    @mcp.tool(
        annotations=ToolAnnotations(
            title="Send email (sensitive)", destructive_hint=True, open_world_hint=True
        ),
        meta={"sensitive": True, "scopes": list(TOOL_SCOPES["email_send"])},
    )
    def email_send(to: str, subject: str, body: str) -> dict[str, Any]:
        """Send an email as the user. Sensitive: needs write:email:send (demo: nothing leaves)."""
        message_id = _message_id("sent", to, subject, body)
        return {"caller": _caller(), "message_id": message_id, "to": to, "status": "sent (demo)"}

    return mcp


def create_demo_app(
    *,
    resource: str,
    authorization_server: str,
    verifier: BearerVerifier | None = None,
) -> ASGIApp:
    """The demo server's ASGI app: streamable HTTP at ``/mcp`` behind Warden's bearer checks.

    :param resource: this server's identifier, e.g. :func:`resource_uri`; the path must be
        ``/mcp``, where the SDK serves.
    :param authorization_server: the issuer trusted, exactly as its metadata spells it.
    :param verifier: how tokens are checked; by default a :class:`~warden.resource.
        TokenVerifier` with the issuer's JWKS, closed when the app shuts down.
    """
    owned = None
    if verifier is None:
        verifier = owned = TokenVerifier(issuer=authorization_server, resource=resource)
    metadata = ProtectedResourceMetadata(
        resource=resource,
        authorization_servers=[authorization_server],
        scopes_supported=DEFAULT_SCOPES,
        resource_name="Warden demo MCP server",
    )
    app: ASGIApp = protect_mcp(
        build_mcp_server().streamable_http_app(),
        verifier=verifier,
        metadata=metadata,
        tool_scopes=TOOL_SCOPES,
    )
    return app if owned is None else _closing(app, owned)


def _closing(app: ASGIApp, verifier: TokenVerifier) -> ASGIApp:
    """``app`` that closes ``verifier``'s HTTP client before reporting shutdown complete."""

    async def closing_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_after_close(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await verifier.aclose()
            await send(message)

        await app(scope, receive, send_after_close)

    return closing_app
