"""A fake authorization server and resource server as one ``httpx.MockTransport``.

Small and permissive on purpose: the real server is exercised by tests/flows/test_agent_*.py;
these fakes let the unit tests steer every answer (errors, rotation, expiry, moved servers).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from warden.agent.pkce import s256_challenge
from warden.clock import FrozenClock

ISSUER = "https://as.test"
RESOURCE = "https://rs.test/mcp"
PRM_URL = "https://rs.test/.well-known/oauth-protected-resource/mcp"
REDIRECT_URI = "http://127.0.0.1/callback"

Handler = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def server_metadata(issuer: str = ISSUER, **overrides: Any) -> dict[str, Any]:
    doc = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "registration_endpoint": f"{issuer}/register",
        "device_authorization_endpoint": f"{issuer}/device_authorization",
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": False,
        "response_types_supported": ["code"],
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


@dataclass
class Issued:
    scope: str
    resource: str
    client_id: str
    expires_at: float


@dataclass
class FakeWorld:
    """One AS at ``ISSUER`` and one RS at ``RESOURCE``, sharing a frozen clock."""

    clock: FrozenClock = field(default_factory=FrozenClock)
    issuer: str = ISSUER
    prm: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    needs: dict[str, str] = field(default_factory=lambda: {"/mcp": "read"})
    """Path → scopes the resource demands there (the 403 challenge names them all)."""
    rotate: bool = True
    ttl: int = 600
    grant_scope: Callable[[str], str] = lambda requested: requested
    """What the person grants, given what was asked for."""
    overrides: dict[str, Handler] = field(default_factory=dict)
    """URL (without query) → handler answering instead of the fake."""
    requests: list[httpx.Request] = field(default_factory=list)
    access: dict[str, Issued] = field(default_factory=dict)
    refresh: dict[str, Issued] = field(default_factory=dict)
    codes: dict[str, tuple[Issued, str, str]] = field(default_factory=dict)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.prm = self.prm or {
            "resource": RESOURCE,
            "authorization_servers": [self.issuer],
            "scopes_supported": ["read"],
        }
        self.metadata = self.metadata or server_metadata(self.issuer)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    def paths(self, host: str | None = None) -> list[str]:
        """Method and path of every request so far (optionally only to ``host``)."""
        return [
            f"{r.method} {r.url.path}" for r in self.requests if host is None or r.url.host == host
        ]

    # --- the person --------------------------------------------------------------------

    async def approve(self, url: str) -> str:
        """Play browser and person: issue a code, return the callback URL with iss."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        self.authorizations.append(query)
        code = secrets.token_urlsafe(8)
        granted = self.grant_scope(query.get("scope", ""))
        issued = Issued(granted, query["resource"], query["client_id"], 0)
        self.codes[code] = (issued, query["code_challenge"], query["redirect_uri"])
        params = {"code": code, "state": query["state"], "iss": self.issuer}
        return f"{query['redirect_uri']}?{urlencode(params)}"

    # --- the servers -------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url.copy_with(query=None))
        if url in self.overrides:
            return self.overrides[url](request)
        if request.url.host == urlsplit(RESOURCE).hostname:
            return self._resource(request)
        if request.url.host != urlsplit(self.issuer).hostname:
            return json_response(404, {"error": "not_found"})
        routes: dict[str, Handler] = {
            f"{self.issuer}/.well-known/oauth-authorization-server": lambda r: json_response(
                200, self.metadata
            ),
            f"{self.issuer}/register": self._register,
            f"{self.issuer}/token": self._token,
        }
        handler = routes.get(url)
        return handler(request) if handler else json_response(404, {"error": "not_found"})

    def _resource(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/oauth-protected-resource/mcp":
            return json_response(200, self.prm)
        challenge = f'Bearer resource_metadata="{PRM_URL}"'
        authorization = request.headers.get("authorization", "")
        issued = self.access.get(authorization.removeprefix("Bearer "))
        if issued is None or issued.expires_at <= self.clock.now():
            error = ', error="invalid_token"' if authorization else ""
            return httpx.Response(401, headers={"WWW-Authenticate": challenge + error})
        needed = self.needs.get(request.url.path, "read")
        if not set(needed.split()) <= set(issued.scope.split()):
            header = f'Bearer error="insufficient_scope", scope="{needed}"'
            return httpx.Response(403, headers={"WWW-Authenticate": header})
        return json_response(200, {"ok": True, "scope": issued.scope})

    def _register(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        client_id = f"dyn_{len(self.clients) + 1}"
        self.clients[client_id] = body
        return json_response(201, {"client_id": client_id, **body})

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = form_of(request)
        if form["grant_type"] == "authorization_code":
            issued, challenge, redirect_uri = self.codes.pop(form["code"])
            if s256_challenge(form["code_verifier"]) != challenge:
                return json_response(400, {"error": "invalid_grant"})
            assert form["redirect_uri"] == redirect_uri and form["resource"] == issued.resource
            return self._mint(issued, with_refresh=True)
        if form["grant_type"] == "refresh_token":
            issued = self.refresh.get(form["refresh_token"])
            if issued is None or form["resource"] != issued.resource:
                return json_response(400, {"error": "invalid_grant"})
            if self.rotate:
                del self.refresh[form["refresh_token"]]
            return self._mint(issued, with_refresh=self.rotate)
        if form["grant_type"] == "client_credentials":
            client_id = _basic_client_id(request)
            issued = Issued(form.get("scope", ""), form["resource"], client_id, 0)
            return self._mint(issued, with_refresh=False)
        return json_response(400, {"error": "unsupported_grant_type"})

    def _mint(self, issued: Issued, *, with_refresh: bool) -> httpx.Response:
        token = "at-" + secrets.token_urlsafe(8)
        self.access[token] = Issued(
            issued.scope, issued.resource, issued.client_id, self.clock.now() + self.ttl
        )
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.ttl,
            "scope": issued.scope,
        }
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(8)
            self.refresh[refresh] = issued
            body["refresh_token"] = refresh
        return json_response(200, body)


def _basic_client_id(request: httpx.Request) -> str:
    raw = base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode()
    return raw.split(":")[0]
