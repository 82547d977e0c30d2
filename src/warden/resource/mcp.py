"""Protecting a server built on the official ``mcp`` SDK (or FastMCP) with ``warden.resource``.

The ``mcp`` package is imported only when an SDK object is needed, so the rest of
``warden.resource`` works without it. Two ways to plug in; both validate tokens with
:class:`~warden.resource.TokenVerifier` (JWKS, ``typ``, ``alg``, ``iss``, ``aud``, times).

**1. The SDK's own auth, Warden's verifier** — three lines::

    from mcp.server import MCPServer
    from mcp.server.auth.settings import AuthSettings
    from warden.resource import TokenVerifier
    from warden.resource.mcp import McpTokenVerifier

    verifier = McpTokenVerifier(TokenVerifier(issuer=ISSUER, resource=RESOURCE))
    mcp = MCPServer("notes", token_verifier=verifier, auth=AuthSettings(
        issuer_url=ISSUER, resource_server_url=RESOURCE,    # strings: kept exactly (P1)
        required_scopes=["notes:read"], validate_token_resource=True))

The SDK serves the metadata and answers 401s itself (always with ``error="invalid_token"``,
and without ``scope``); tools read the token with ``mcp.server.auth.middleware.auth_context.
get_access_token()``.

**2. Warden's challenges and per-tool step-up** — :func:`protect_mcp` wraps the SDK's ASGI
app (built *without* ``auth=``) in :class:`~warden.resource.RequireBearer`, which serves the
RFC 9728 document, answers RFC 6750 challenges with ``scope`` (none with ``error`` when no
token was sent), and refuses a ``tools/call`` of a tool whose scopes the token lacks with
``403 insufficient_scope`` naming every scope needed, so clients step up::

    mcp = MCPServer("notes")
    app = protect_mcp(
        mcp.streamable_http_app(),
        verifier=TokenVerifier(issuer=ISSUER, resource=RESOURCE),
        metadata=ProtectedResourceMetadata(resource=RESOURCE, authorization_servers=[ISSUER],
                                           scopes_supported=["notes:read"]),
        required_scopes=["notes:read"],
        tool_scopes={"write_note": ["notes:write"]},
    )

Tools read the caller with :func:`~warden.resource.current_principal` (or the SDK's
``get_access_token()``, which works here too), and MCP sessions stay bound to the principal
that opened them (mcp-auth.md RS14). A tool cannot raise its way to a 403 — by then the SDK
turns exceptions into tool errors — which is why step-up scopes are declared per tool.

**FastMCP** (4.x; recipe, not run in Warden's tests): :class:`McpTokenVerifier` carries the
``required_scopes`` and ``scopes_supported`` FastMCP reads from a verifier::

    from fastmcp import FastMCP
    from fastmcp.server.auth import RemoteAuthProvider

    verifier = McpTokenVerifier(TokenVerifier(issuer=ISSUER, resource=RESOURCE),
                                required_scopes=["notes:read"])
    mcp = FastMCP("notes", auth=RemoteAuthProvider(verifier, authorization_servers=[ISSUER],
                                                   base_url="https://notes.example"))
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from warden.resource._asgi import ASGIApp, Message, Receive, Scope, Send, send_json
from warden.resource.errors import AuthorizationServerUnavailable, InvalidTokenError
from warden.resource.metadata import ProtectedResourceMetadata
from warden.resource.middleware import RequireBearer
from warden.resource.principal import Principal, require_scopes
from warden.resource.scopes import check_scopes
from warden.resource.verifier import BearerVerifier

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

__all__ = ["McpTokenVerifier", "SdkAuthContext", "ToolScopes", "access_token", "protect_mcp"]

logger = logging.getLogger("warden.resource")

MAX_BODY_BYTES: Final = 4 * 1024 * 1024
"""The ``mcp`` SDK's own request body limit; a larger request could not be a tool call."""


def access_token(principal: Principal, resource: str) -> AccessToken:
    """The SDK's ``AccessToken`` for ``principal``; ``resource`` is the audience matched."""
    from mcp.server.auth.provider import AccessToken

    return AccessToken(
        token=principal.token,
        client_id=principal.client_id,
        scopes=sorted(principal.scopes),
        expires_at=principal.expires_at,
        resource=resource,
        subject=principal.subject,
        claims=dict(principal.claims),
    )


class McpTokenVerifier:
    """The ``mcp`` SDK's ``TokenVerifier`` protocol over a Warden verifier.

    :param required_scopes: for FastMCP, which reads them from its verifier.
    :param scopes_supported: for FastMCP's metadata; defaults to ``required_scopes``.
    """

    def __init__(
        self,
        verifier: BearerVerifier,
        *,
        required_scopes: Iterable[str] = (),
        scopes_supported: Iterable[str] | None = None,
    ) -> None:
        self.verifier = verifier
        self.required_scopes = list(check_scopes(required_scopes, what="required_scopes"))
        supported = self.required_scopes if scopes_supported is None else scopes_supported
        self.scopes_supported = list(check_scopes(supported, what="scopes_supported"))

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's ``AccessToken``, or None — the SDK then answers 401 ``invalid_token``."""
        try:
            principal = await self.verifier.verify(token)
        except InvalidTokenError as exc:
            logger.info("bearer token refused: %s", exc.reason)
            return None
        except AuthorizationServerUnavailable as exc:
            logger.warning("bearer token not checked, authorization server: %s", exc.reason)
            return None
        return access_token(principal, self.verifier.resource)


class ToolScopes:
    """ASGI middleware refusing an MCP ``tools/call`` whose tool needs scopes the token lacks.

    It must run inside :class:`~warden.resource.RequireBearer`, which turns the
    :class:`~warden.resource.InsufficientScopeError` raised here into the 403 challenge.
    """

    def __init__(self, app: ASGIApp, tool_scopes: Mapping[str, Iterable[str]]) -> None:
        self.app = app
        self.tool_scopes = {
            name: check_scopes(scopes, what=f"scopes of tool {name!r}")
            for name, scopes in tool_scopes.items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not self.tool_scopes:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            await send_json(send, 413, {"error": "invalid_request"})
            return
        if needed := self._needed(body):
            principal = scope.get("auth")
            if not isinstance(principal, Principal):
                raise RuntimeError("ToolScopes must run inside RequireBearer")
            require_scopes(principal, *needed)
        await self.app(scope, _replay(body, receive), send)

    def _needed(self, body: bytes) -> set[str]:
        """The scopes of every tool the JSON-RPC message (or batch) calls."""
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            return set()  # not JSON: the SDK answers with a parse error
        needed: set[str] = set()
        for message in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(message, dict) or message.get("method") != "tools/call":
                continue
            params = message.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            if isinstance(name, str):
                needed.update(self.tool_scopes.get(name, ()))
        return needed


async def _read_body(receive: Receive) -> bytes | None:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class SdkAuthContext:
    """Hands the principal to the ``mcp`` SDK as its authenticated user.

    With it, ``get_access_token()`` works in tools and the SDK binds each session to the
    principal that opened it, refusing its use with another token (mcp-auth.md RS14).
    """

    def __init__(self, app: ASGIApp, resource: str) -> None:
        from mcp.server.auth.middleware.auth_context import auth_context_var
        from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

        self.app = app
        self.resource = resource
        self._user = AuthenticatedUser
        self._context = auth_context_var

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("auth")
        if not isinstance(principal, Principal):
            await self.app(scope, receive, send)
            return
        user = self._user(access_token(principal, self.resource))
        context = self._context.set(user)
        try:
            await self.app({**scope, "user": user}, receive, send)
        finally:
            self._context.reset(context)


def protect_mcp(
    app: ASGIApp,
    *,
    verifier: BearerVerifier,
    metadata: ProtectedResourceMetadata,
    required_scopes: Iterable[str] = (),
    tool_scopes: Mapping[str, Iterable[str]] | None = None,
    challenge_scopes: Iterable[str] | None = None,
    exempt_paths: Iterable[str] = (),
) -> RequireBearer:
    """An MCP server's ASGI app behind Warden's bearer checks (recipe 2 above).

    ``tool_scopes`` maps a tool name to the scopes a call of it needs on top of
    ``required_scopes``; the 403 challenge names both, all at once.
    """
    inner: ASGIApp = SdkAuthContext(app, verifier.resource)
    if tool_scopes:
        inner = ToolScopes(inner, tool_scopes)
    return RequireBearer(
        inner,
        verifier=verifier,
        metadata=metadata,
        required_scopes=required_scopes,
        challenge_scopes=challenge_scopes,
        exempt_paths=exempt_paths,
    )
