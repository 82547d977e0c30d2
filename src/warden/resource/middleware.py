"""Bearer-token protection for any ASGI application (RFC 6750, RFC 9728, MCP authorization).

::

    app = RequireBearer(
        app,
        verifier=TokenVerifier(issuer="https://auth.example", resource="https://rs.example/mcp"),
        metadata=ProtectedResourceMetadata(
            resource="https://rs.example/mcp",
            authorization_servers=["https://auth.example"],
            scopes_supported=["read:calendar"],
        ),
    )

Every HTTP or WebSocket request then needs a valid access token for this resource, read from
the ``Authorization`` header only: a token in the query string (``?access_token=``) or the
body is not looked at, so such a request has no token (OAuth 2.1 §5.1, SEC-84). The handler
finds the :class:`~warden.resource.Principal` in ``scope["state"]["principal"]`` (Starlette:
``request.state.principal``), in ``scope["auth"]`` (``request.auth``), and from
:func:`~warden.resource.current_principal`.

Refusals, each with an RFC 6750 challenge that CORS lets browser clients read:

- no token: 401, ``Bearer resource_metadata="…", scope="…"`` without ``error`` (§3.1);
- a refused token: 401 ``error="invalid_token"``;
- several ``Authorization`` headers: 400 ``error="invalid_request"``;
- missing scope (``required_scopes``, or :func:`~warden.resource.require_scopes` raised by the
  handler before it answered): 403 ``error="insufficient_scope"`` naming every scope needed;
- keys or introspection unreachable: 503 ``temporarily_unavailable``.

Refusal reasons go to the ``warden.resource`` logger; tokens never do (SEC-88). CORS
preflight requests and ``exempt_paths`` pass without a token; the metadata document, when
given, is served at its well-known paths.

With Starlette, add it as ``Middleware(RequireBearer, verifier=…, metadata=…)`` rather than
wrapping the finished app, so an exception raised by a handler reaches it before Starlette's
error middleware turns it into a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from warden.resource._asgi import (
    CORS_HEADERS,
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    header_values,
    route_path,
    send_json,
)
from warden.resource.challenge import bearer_challenge
from warden.resource.errors import (
    InsufficientScopeError,
    InvalidRequestError,
    InvalidTokenError,
    ResourceError,
)
from warden.resource.metadata import ProtectedResourceMetadata, ProtectedResourceMetadataApp
from warden.resource.principal import (
    Principal,
    require_scopes,
    reset_current_principal,
    set_current_principal,
)
from warden.resource.scopes import check_scopes
from warden.resource.verifier import BearerVerifier

__all__ = ["RequireBearer"]

logger = logging.getLogger("warden.resource")

_RETRY_AFTER_SECONDS = "10"
_POLICY_VIOLATION = 1008
"""WebSocket close code (RFC 6455 §7.4.1); closing before accept makes the server answer 403."""


class RequireBearer:
    """ASGI middleware admitting only requests with a valid bearer token for this resource.

    :param verifier: turns a token into a principal, e.g. :class:`~warden.resource.TokenVerifier`.
    :param metadata: this resource's RFC 9728 document, served at its well-known paths and
        named in every challenge.
    :param resource_metadata_url: the document's URL, when it is served elsewhere.
    :param required_scopes: scopes every request needs (403 without them).
    :param challenge_scopes: the ``scope`` of a 401 challenge — what a client should ask for;
        by default ``required_scopes`` plus the metadata's ``scopes_supported``.
    :param exempt_paths: exact paths served without a token (health checks, say).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: BearerVerifier,
        metadata: ProtectedResourceMetadata | None = None,
        resource_metadata_url: str | None = None,
        required_scopes: Iterable[str] = (),
        challenge_scopes: Iterable[str] | None = None,
        exempt_paths: Iterable[str] = (),
    ) -> None:
        if metadata is not None:
            _check_consistent(metadata, verifier)
        self.app = app
        self.verifier = verifier
        self.metadata_app = None if metadata is None else ProtectedResourceMetadataApp(metadata)
        if resource_metadata_url is None and metadata is not None:
            resource_metadata_url = metadata.url
        self.resource_metadata_url = resource_metadata_url
        self.required_scopes = check_scopes(required_scopes, what="required_scopes")
        advertised = metadata.scopes_supported if metadata is not None else ()
        self.challenge_scopes = check_scopes(
            (*self.required_scopes, *advertised) if challenge_scopes is None else challenge_scopes,
            what="challenge_scopes",
        )
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
        elif self.metadata_app is not None and self.metadata_app.serves(scope):
            await self.metadata_app(scope, receive, send)
        elif route_path(scope) in self.exempt_paths or _is_preflight(scope):
            await self.app(scope, receive, send)
        else:
            await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            principal = await self._authenticate(scope)
            if principal is not None:
                require_scopes(principal, *self.required_scopes)
        except ResourceError as exc:
            await self._refuse(scope, send, exc)
            return
        if principal is None:
            await self._refuse(scope, send, None)
            return
        await self._call_app(_with_principal(scope, principal), receive, send, principal)

    async def _authenticate(self, scope: Scope) -> Principal | None:
        """The principal of the request's bearer token; None when it carries no token."""
        values = header_values(scope, b"authorization")
        if len(values) > 1:
            raise InvalidRequestError("several Authorization headers")
        if not values:
            return None
        scheme, _, credentials = values[0].strip(" \t").partition(" ")
        if scheme.lower() != "bearer":
            return None  # another scheme carries no bearer token (RFC 6750 §3.1)
        token = credentials.strip(" \t")
        if not token:
            raise InvalidTokenError("empty bearer token")
        return await self.verifier.verify(token)

    async def _call_app(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal
    ) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] in ("http.response.start", "websocket.accept")
            await send(message)

        context = set_current_principal(principal)
        try:
            await self.app(scope, receive, tracking_send)
        except InsufficientScopeError as exc:
            if started:
                raise
            needed = InsufficientScopeError((*exc.scopes, *self.required_scopes), exc.reason)
            await self._refuse(scope, send, needed)
        finally:
            reset_current_principal(context)

    async def _refuse(self, scope: Scope, send: Send, error: ResourceError | None) -> None:
        """Answer with the challenge for ``error`` (None: no token was sent)."""
        code = None if error is None else error.error
        # A first request without a token is routine for MCP clients (discovery), not news.
        logger.log(
            logging.DEBUG if error is None else logging.INFO,
            "%s %s refused: %s%s",
            scope.get("method", "WEBSOCKET"),
            route_path(scope),
            code or "no bearer token",
            f" ({error.reason})" if error is not None and error.reason else "",
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
            return
        status = 401 if error is None else error.status_code
        if status == 503:
            headers = [("retry-after", _RETRY_AFTER_SECONDS), CORS_HEADERS[0]]
            await send_json(send, status, {"error": code}, headers)
            return
        needed = error.scopes if isinstance(error, InsufficientScopeError) else None
        challenge = bearer_challenge(
            error=code,
            resource_metadata=self.resource_metadata_url,
            scopes=self.challenge_scopes if needed is None else needed,
        )
        body = None if code is None else {"error": code}
        await send_json(send, status, body, [("www-authenticate", challenge), *CORS_HEADERS])


def _with_principal(scope: Scope, principal: Principal) -> Scope:
    """A child scope carrying the principal where Starlette and plain ASGI apps look."""
    child = dict(scope)
    child["state"] = {**scope.get("state", {}), "principal": principal}
    child["auth"] = principal
    return child


def _is_preflight(scope: Scope) -> bool:
    """A CORS preflight (Fetch §3.2.2) carries no credentials by design; let CORS answer it."""
    return (
        scope["type"] == "http"
        and scope.get("method") == "OPTIONS"
        and bool(header_values(scope, b"origin"))
        and bool(header_values(scope, b"access-control-request-method"))
    )


def _check_consistent(metadata: ProtectedResourceMetadata, verifier: BearerVerifier) -> None:
    """Catch the classic misconfigurations at start-up instead of in a client (P1, P3)."""
    if metadata.resource != verifier.resource:
        raise ValueError(
            f"metadata resource {metadata.resource!r} differs from the verifier's "
            f"{verifier.resource!r}: tokens would be minted for one and checked against the other"
        )
    if verifier.issuer not in metadata.authorization_servers:
        raise ValueError(
            f"the verifier's issuer {verifier.issuer!r} is not among the metadata "
            f"authorization_servers {list(metadata.authorization_servers)!r}"
        )
