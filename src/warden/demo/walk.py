"""A sample agent walks through MCP authorization, narrated step by step.

The agent is the official ``mcp`` Python SDK client (``mcp.Client`` over streamable HTTP,
with its ``OAuthClientProvider``), so the demo shows what real MCP clients do against
Warden (mcp-auth.md §3, recipe 6b): a 401 with a challenge → protected resource metadata →
authorization server metadata → registration → authorization code with PKCE and
``resource`` → token → tool calls → a 403 ``insufficient_scope`` on the sensitive tool →
step-up for the union of scopes → the call succeeds.

The person at the browser is played by :class:`~warden.demo.person.HeadlessPerson`, who
signs in as the demo user and approves. Every HTTP exchange passes an httpx event hook that
hands the interesting ones to the :class:`~warden.demo.narration.Narrator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp_types import CallToolResult, Implementation, TextContent
from pydantic import AnyUrl

from warden.demo.narration import Narrator, decode_jwt, shorten
from warden.demo.person import HeadlessPerson

__all__ = ["AgentProfile", "MemoryTokenStorage", "WalkError", "WalkResult", "walk"]

REDIRECT_URI: Final = "http://127.0.0.1/callback"
"""A loopback redirect URI (RFC 8252 §7.3); nothing listens there, the person stops short."""

_PRM_PATH: Final = "/.well-known/oauth-protected-resource"
_AS_METADATA_PATHS: Final = (
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
)


class WalkError(RuntimeError):
    """A step of the walk failed; the message says which."""


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """Who the sample agent is and whom it acts for."""

    mcp_url: str
    username: str
    password: str
    client_name: str = "Warden demo agent"
    redirect_uri: str = REDIRECT_URI
    client_metadata_url: str | None = None
    """A Client ID Metadata Document URL (https) to use instead of registering."""


@dataclass
class WalkResult:
    """What happened, for callers that check rather than read."""

    tools: list[str] = field(default_factory=list)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    """The claims of every access token issued, in order."""
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The structured result of each tool called."""
    challenges: list[tuple[int, str]] = field(default_factory=list)
    """Status and ``WWW-Authenticate`` of every refusal from the MCP server."""


class MemoryTokenStorage:
    """The SDK's ``TokenStorage`` protocol, in memory: the agent forgets all on exit."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class _Observer:
    """Turns the agent's HTTP exchanges into narrated steps (an httpx response hook)."""

    def __init__(self, profile: AgentProfile, narrator: Narrator, result: WalkResult) -> None:
        self.profile = profile
        self.narrator = narrator
        self.result = result
        self.endpoints: dict[str, str] = {}
        self.authorization_server: str | None = None
        self.tokens_seen = 0

    async def on_response(self, response: httpx2.Response) -> None:
        request = response.request
        url = str(request.url)
        path = urlsplit(url).path
        if url == self.profile.mcp_url and response.status_code in (401, 403):
            self._refused(response)
        elif url in self.endpoints.values() and response.status_code >= 400:
            await self._failed(response)
        elif response.status_code != 200 and url != self.endpoints.get("registration_endpoint"):
            return  # discovery probes that miss, and successful MCP traffic: not steps
        elif path.startswith(_PRM_PATH):
            await self._resource_metadata(response)
        elif path.startswith(_AS_METADATA_PATHS):
            await self._server_metadata(response)
        elif url == self.endpoints.get("registration_endpoint"):
            await self._registered(response)
        elif url == self.endpoints.get("token_endpoint"):
            await self._token(response)

    def _wire(self, response: httpx2.Response) -> None:
        request = response.request
        self.narrator.wire(
            request.method, str(request.url), response.status_code, response.reason_phrase
        )

    def _refused(self, response: httpx2.Response) -> None:
        header = response.headers.get("www-authenticate", "")
        self.result.challenges.append((response.status_code, header))
        self._wire(response)
        self.narrator.challenge(header, step_up=response.status_code == 403)

    async def _failed(self, response: httpx2.Response) -> None:
        body = await _json(response)
        self._wire(response)
        names = ("error", "error_description")
        self.narrator.fields((name, body[name]) for name in names if name in body)

    async def _resource_metadata(self, response: httpx2.Response) -> None:
        document = await _json(response)
        servers = document.get("authorization_servers")
        if isinstance(servers, list) and servers and isinstance(servers[0], str):
            self.authorization_server = servers[0]
        self.narrator.step("Protected resource metadata (RFC 9728)")
        self._wire(response)
        names = ("resource", "authorization_servers", "scopes_supported", "resource_name")
        self.narrator.fields((name, document[name]) for name in names if name in document)

    async def _server_metadata(self, response: httpx2.Response) -> None:
        document = await _json(response)
        for name in ("registration_endpoint", "token_endpoint"):
            if isinstance(document.get(name), str):
                self.endpoints[name] = document[name]
        self.narrator.step("Authorization server metadata (RFC 8414)")
        self._wire(response)
        names = (
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "registration_endpoint",
            "code_challenge_methods_supported",
            "client_id_metadata_document_supported",
            "authorization_response_iss_parameter_supported",
        )
        self.narrator.fields((name, document[name]) for name in names if name in document)
        if document.get("issuer") == self.authorization_server:
            self.narrator.note("The issuer is the resource's authorization server, byte for byte.")
        else:
            self.narrator.note("The issuer is not the one the resource named: the agent stops.")

    async def _registered(self, response: httpx2.Response) -> None:
        document = await _json(response)
        self.narrator.step("Dynamic client registration (RFC 7591)")
        self._wire(response)
        names = ("client_id", "client_name", "token_endpoint_auth_method", "redirect_uris")
        rows = [(name, document[name]) for name in names if name in document]
        if "client_secret" in document:
            rows.append(("client_secret", "issued (not shown)"))
        self.narrator.fields(rows)

    async def _token(self, response: httpx2.Response) -> None:
        body = await _json(response)
        self.tokens_seen += 1
        title = "Token" if self.tokens_seen == 1 else "A new token, with the added scope"
        self.narrator.step(f"{title} (authorization code + PKCE verifier + resource)")
        self._wire(response)
        self.narrator.token(body)
        access_token = body.get("access_token")
        if isinstance(access_token, str):
            self.result.tokens.append(decode_jwt(access_token)[1])


async def _json(response: httpx2.Response) -> dict[str, Any]:
    await response.aread()
    try:
        body: Any = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class _Consent:
    """The SDK's redirect and callback handlers: the person approves, headlessly."""

    def __init__(self, profile: AgentProfile, narrator: Narrator) -> None:
        self.narrator = narrator
        self.rounds = 0
        self.person = HeadlessPerson(
            profile.username, profile.password, profile.redirect_uri, on_page=self._page
        )
        self._result: AuthorizationCodeResult | None = None

    def _page(self, page: str) -> None:
        if page == "sign-in":
            self.narrator.note(f"Signed in as {self.person.username!r}.")
        else:
            self.narrator.note("Consent page: pressed Allow.")

    async def redirect(self, url: str) -> None:
        self.rounds += 1
        title = "Consent" if self.rounds == 1 else "Consent again, for the union of scopes"
        self.narrator.step(f"{title} (authorization request)")
        self.narrator.authorization_request(url)
        self.narrator.note(
            "The demo plays the person headlessly: it signs in as the demo user and approves, "
            "as you would in a browser."
        )
        redirect = await self.person.authorize(url)
        if redirect.code is None:
            raise WalkError(f"the authorization server refused: {redirect.error}")
        self.narrator.fields(
            [
                ("code", shorten(redirect.code)),
                ("state", "as sent (the agent checks)"),
                ("iss", f"{redirect.iss} (RFC 9207: the agent checks it is the issuer)"),
            ]
        )
        self._result = AuthorizationCodeResult(
            code=redirect.code, state=redirect.state, iss=redirect.iss
        )

    async def callback(self) -> AuthorizationCodeResult:
        if self._result is None:
            raise WalkError("no authorization response arrived")
        result, self._result = self._result, None
        return result


def _structured(result: CallToolResult) -> tuple[dict[str, Any] | None, str]:
    text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
    structured = result.structured_content
    return (dict(structured) if isinstance(structured, Mapping) else None), text


async def walk(profile: AgentProfile, narrator: Narrator) -> WalkResult:
    """Connect, list tools, call the calendar, draft and send an email; narrate every step.

    :raises WalkError: a tool failed or the authorization server refused.
    :raises mcp.client.auth.OAuthFlowError: the SDK gave up on authorization.
    """
    result = WalkResult()
    observer = _Observer(profile, narrator, result)
    consent = _Consent(profile, narrator)
    oauth = OAuthClientProvider(
        profile.mcp_url,
        OAuthClientMetadata(
            client_name=profile.client_name, redirect_uris=[AnyUrl(profile.redirect_uri)]
        ),
        MemoryTokenStorage(),
        consent.redirect,
        consent.callback,
        client_metadata_url=profile.client_metadata_url,
    )
    hooks = {"response": [observer.on_response]}
    try:
        async with httpx2.AsyncClient(auth=oauth, event_hooks=hooks, timeout=30.0) as http:
            narrator.step("The agent connects to the MCP server, with no token")
            transport = streamable_http_client(profile.mcp_url, http_client=http)
            info = Implementation(name="warden-demo-agent", version="1")
            async with Client(transport, client_info=info) as client:
                await _use_tools(client, narrator, observer)
    finally:
        await consent.person.aclose()
    return result


async def _use_tools(client: Client, narrator: Narrator, observer: _Observer) -> None:
    result = observer.result
    narrator.step("The agent lists the tools")
    listed = await client.list_tools()
    result.tools = [tool.name for tool in listed.tools]
    narrator.fields((tool.name, tool.description or "") for tool in listed.tools)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("calendar_next_events", {}),
        ("email_draft", {"to": "sam@example.com", "subject": "Lunch", "body": "Thursday?"}),
        ("email_send", {"to": "sam@example.com", "subject": "Lunch", "body": "Thursday?"}),
    ]
    for name, arguments in calls:
        sensitive = " (sensitive)" if name == "email_send" else ""
        narrator.step(f"Tool call: {name}{sensitive}")
        tokens_before = observer.tokens_seen
        outcome = await client.call_tool(name, arguments)
        structured, text = _structured(outcome)
        if outcome.is_error:
            raise WalkError(f"{name} failed: {text}")
        if observer.tokens_seen != tokens_before:
            narrator.step(f"Tool call: {name}, retried with the new token")
        result.calls[name] = structured or {}
        narrator.tool_result(name, structured, text)
