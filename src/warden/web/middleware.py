"""Response headers every Warden endpoint needs: CORS where browsers call, and hardening.

Pure ASGI middleware (no ``BaseHTTPMiddleware``, so streaming and lifespans are untouched).

CORS (SEC-115; mcp-auth P7). Browser-based MCP clients (MCP Inspector, web agents) call the
discovery documents, the JWKS, registration and the token, revocation, introspection and
device authorization endpoints from another origin. Those answer with
``Access-Control-Allow-Origin: *`` and never ``Access-Control-Allow-Credentials``: they take
no cookies, so any origin may read them, and a wildcard cannot be combined with credentials
by design of the Fetch standard. Error responses and 404 fall-throughs under those paths get
the same headers, or a browser client could not read the ``error`` it must act on. The
front-channel pages (``/authorize``, ``/login``, ``/consent``, ``/logout``, and ``/device``
where a person enters a user code) never get CORS: they run on cookies and must only ever be
navigated to (OAuth 2.0 Security BCP §4.16).

Hardening (SEC-114): ``X-Content-Type-Options: nosniff`` on every response, and
``Strict-Transport-Security`` when the issuer is https. HTML pages set their own CSP and
``X-Frame-Options`` where they are rendered.

The account API (``/account/api/connections``) gets CORS like the endpoints above: it takes a
bearer token, never the session cookie, so account portals on other origins may call it.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CORS_ALLOW_HEADERS", "CorsMiddleware", "SecurityHeadersMiddleware", "cors_methods"]

CORS_ALLOW_HEADERS = "Authorization, Content-Type, MCP-Protocol-Version"
_EXPOSE_HEADERS = "WWW-Authenticate, Retry-After"
_MAX_AGE = "7200"  # Chromium's ceiling for a cached preflight.
_HSTS = "max-age=31536000"

# Issuer-relative paths browsers may call, with the methods each accepts.
_ENDPOINT_METHODS = {
    "/jwks.json": "GET",
    "/token": "POST",
    "/revoke": "POST",
    "/introspect": "POST",
    "/register": "POST",
    "/device_authorization": "POST",
}
_REGISTRATION_MANAGEMENT = "GET, PUT, DELETE"  # RFC 7592 §2 at /register/{client_id}
_WELL_KNOWN = "/.well-known/"
_ACCOUNT_API = "/account/api/connections"  # GET the list, DELETE /{client_id}


def cors_methods(path: str, issuer_path: str) -> str | None:
    """The methods a cross-origin caller may use on ``path``, or None where CORS is off."""
    if path.startswith(_WELL_KNOWN) or path.startswith(issuer_path + _WELL_KNOWN):
        return "GET"
    if issuer_path:
        if not path.startswith(issuer_path + "/"):
            return None
        path = path[len(issuer_path) :]
    if path in _ENDPOINT_METHODS:
        return _ENDPOINT_METHODS[path]
    if path.startswith("/register/"):
        return _REGISTRATION_MANAGEMENT
    if path == _ACCOUNT_API:
        return "GET"
    if path.startswith(_ACCOUNT_API + "/"):
        return "DELETE"
    return None


class CorsMiddleware:
    """``Access-Control-Allow-Origin: *`` on the machine-facing endpoints, preflights answered."""

    def __init__(self, app: ASGIApp, *, issuer_path: str) -> None:
        self.app = app
        self.issuer_path = issuer_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        methods = cors_methods(scope["path"], self.issuer_path)
        if methods is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await _preflight(methods, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = "*"
                headers["Access-Control-Expose-Headers"] = _EXPOSE_HEADERS
                del headers["Access-Control-Allow-Credentials"]
            await send(message)

        await self.app(scope, receive, send_with_cors)


async def _preflight(methods: str, send: Send) -> None:
    """A CORS preflight (Fetch standard §4.8): 204, no body, no credentials."""
    headers = Headers(
        {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": f"{methods}, OPTIONS",
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": _MAX_AGE,
            "Allow": f"{methods}, OPTIONS",
        }
    )
    await send({"type": "http.response.start", "status": 204, "headers": headers.raw})
    await send({"type": "http.response.body", "body": b""})


class SecurityHeadersMiddleware:
    """``nosniff`` everywhere; HSTS when the issuer is https (SEC-114, RFC 6797)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", _HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
