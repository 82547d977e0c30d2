"""The one place HTTP meets the protocol engine: requests in, results and errors out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from warden.errors import InvalidRequestError, OAuthError, ServerError
from warden.oauth.requests import OAuthRequest, Params

__all__ = [
    "MAX_FORM_BYTES",
    "NO_STORE",
    "client_ip",
    "error_response",
    "json_response",
    "oauth_request",
    "redirect_to_client",
    "server_error_response",
]

log = logging.getLogger("warden.web")

MAX_FORM_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"


async def oauth_request(request: Request, *, form: bool = True) -> OAuthRequest:
    """Build the protocol request; refuse non-form POST bodies and oversized bodies."""
    form_params = Params()
    if form and request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != _FORM:
            raise InvalidRequestError("The body must be application/x-www-form-urlencoded")
        body = await _read_capped(request)
        form_params = Params(_parse_qsl(body.decode("utf-8", errors="replace")))
    return OAuthRequest(
        method=request.method,
        url=str(request.url),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=Params(_parse_qsl(request.url.query)),
        form=form_params,
        client_ip=client_ip(request),
    )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _read_capped(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise InvalidRequestError("Request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_qsl(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    try:
        return parse_qsl(query, keep_blank_values=True, max_num_fields=200)
    except ValueError as exc:
        raise InvalidRequestError("Too many parameters") from exc


def json_response(data: Mapping[str, Any], status_code: int = 200) -> JSONResponse:
    """A JSON answer that must not be cached (RFC 6749 §5.1, SEC-39)."""
    return JSONResponse(dict(data), status_code=status_code, headers=NO_STORE)


def error_response(exc: OAuthError, *, basic_auth_used: bool = False) -> JSONResponse:
    """RFC 6749 §5.2 JSON error; 401 ``invalid_client`` gets a Basic challenge."""
    headers = {**NO_STORE, **exc.headers}
    if exc.error == "invalid_client" and basic_auth_used:
        headers["WWW-Authenticate"] = 'Basic realm="warden", charset="UTF-8"'
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


def server_error_response() -> JSONResponse:
    """SEC-117: a fixed body, no trace, no detail."""
    return error_response(ServerError())


def redirect_to_client(
    redirect_uri: str, params: Mapping[str, str | None], *, status_code: int = 302
) -> RedirectResponse:
    """Redirect to an already validated redirect URI, adding parameters to its query."""
    parts = urlsplit(redirect_uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return RedirectResponse(
        location, status_code=status_code, headers={"Cache-Control": "no-store"}
    )


def unhandled(exc: BaseException) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return server_error_response()
