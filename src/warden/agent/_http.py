"""The agent's own HTTP exchanges with resource and authorization servers.

Discovery, registration and token requests go through a client of their own rather than the
application's: they must not carry the application's default headers, cookies or base URL,
and they never follow redirects (a metadata or token endpoint that redirects is refused, as
both official MCP clients do). Bodies are capped, so a hostile server cannot exhaust memory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["MAX_BODY_BYTES", "Reply", "get", "post_form", "post_json"]

MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """A response: its status and, if the body was a JSON object, that object."""

    status_code: int
    body: Mapping[str, Any] | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def error(self) -> tuple[str | None, str | None]:
        """The RFC 6749 §5.2 ``error`` and ``error_description``, if the body has them."""
        body = self.body or {}
        error, description = body.get("error"), body.get("error_description")
        return (
            error if isinstance(error, str) else None,
            description if isinstance(description, str) else None,
        )


async def get(http: httpx.AsyncClient, url: str) -> Reply:
    return await _send(http, http.build_request("GET", url, headers=_ACCEPT))


async def post_form(
    http: httpx.AsyncClient,
    url: str,
    form: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> Reply:
    request = http.build_request(
        "POST", url, data=dict(form), headers={**_ACCEPT, **(headers or {})}
    )
    return await _send(http, request)


async def post_json(http: httpx.AsyncClient, url: str, body: Mapping[str, Any]) -> Reply:
    return await _send(http, http.build_request("POST", url, json=dict(body), headers=_ACCEPT))


_ACCEPT = {"Accept": "application/json"}


async def _send(http: httpx.AsyncClient, request: httpx.Request) -> Reply:
    response = await http.send(request, stream=True, follow_redirects=False)
    try:
        raw = bytearray()
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) > MAX_BODY_BYTES:
                return Reply(response.status_code, None)
    finally:
        await response.aclose()
    return Reply(response.status_code, _json_object(bytes(raw)))


def _json_object(raw: bytes) -> Mapping[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
