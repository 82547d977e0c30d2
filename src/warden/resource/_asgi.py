"""Just enough ASGI (https://asgi.readthedocs.io/) to answer requests without a framework.

The resource library is pure ASGI so it wraps a Starlette, FastAPI, Quart or bare application
alike and imports no web framework.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

__all__ = [
    "CORS_HEADERS",
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "header_values",
    "route_path",
    "send_json",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CORS_HEADERS: tuple[tuple[str, str], ...] = (
    ("access-control-allow-origin", "*"),
    ("access-control-expose-headers", "WWW-Authenticate"),
)
"""Lets a browser-based client (MCP Inspector, web agents) read a challenge (mcp-auth.md P7)."""


def header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of request header ``name`` (lower case), decoded as ISO-8859-1."""
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]


def route_path(scope: Scope) -> str:
    """The request path below the application's mount point (as Starlette routes on it)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


async def send_json(
    send: Send,
    status: int,
    body: Mapping[str, Any] | None,
    headers: Iterable[tuple[str, str]] = (),
    *,
    cache: str = "no-store",
) -> None:
    """Answer with a JSON body (or none, for ``body=None``)."""
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"cache-control", cache.encode()))
    if body is not None:
        raw.append((b"content-type", b"application/json"))
    raw.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
