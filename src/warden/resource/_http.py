"""Bounded JSON over HTTP, for authorization-server metadata, JWKS and introspection.

Every answer is size-capped and time-limited, redirects are never followed (a redirect could
move key material to another origin), and any failure is one
:class:`~warden.resource.errors.AuthorizationServerUnavailable` whose reason names the URL and
the cause, for logs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Self

import httpx

from warden.resource.errors import AuthorizationServerUnavailable

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "MAX_DOCUMENT_BYTES",
    "HttpStatusError",
    "OwnsHttpClient",
    "new_client",
    "request_json",
]

DEFAULT_TIMEOUT_SECONDS: Final = 5.0
MAX_DOCUMENT_BYTES: Final = 256 * 1024


class HttpStatusError(AuthorizationServerUnavailable):
    """The server answered, but not with 200."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"{url} answered HTTP {status}")
        self.status = status


def new_client() -> httpx.AsyncClient:
    """The client used when the caller injects none."""
    return httpx.AsyncClient(
        timeout=DEFAULT_TIMEOUT_SECONDS,
        follow_redirects=False,
        headers={"accept": "application/json"},
    )


class OwnsHttpClient:
    """An async context manager closing the client it made with :func:`new_client`, if any."""

    _owned_http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        """Close the HTTP client this verifier created, if any."""
        if self._owned_http is not None:
            await self._owned_http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON object ``url`` answers with (status 200, at most 256 KB).

    :raises HttpStatusError: any status but 200.
    :raises AuthorizationServerUnavailable: network failure, oversized or non-object body.
    """
    try:
        async with http.stream(
            method, url, data=data, headers=headers, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise HttpStatusError(url, response.status_code)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise AuthorizationServerUnavailable(f"{url} answered over the size cap")
    except httpx.HTTPError as exc:
        raise AuthorizationServerUnavailable(f"{url}: {type(exc).__name__}") from exc
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise AuthorizationServerUnavailable(f"{url} answered with invalid JSON") from exc
    if not isinstance(document, dict):
        raise AuthorizationServerUnavailable(f"{url} answered with JSON that is not an object")
    return document
