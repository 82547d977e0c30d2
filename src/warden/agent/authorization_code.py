"""The authorization code grant with PKCE, for an agent whose person has a browser.

OAuth 2.1 §4.1 (https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1#section-4.1) with
PKCE S256 (RFC 7636), ``state`` (RFC 6749 §10.12), the resource indicator (RFC 8707 §2) and
the issuer identification of RFC 9207 (https://www.rfc-editor.org/rfc/rfc9207).

How the person approves is the application's business: the flow hands the authorization URL
to ``open_authorization_url`` and gets back the URL the browser was redirected to. A desktop
agent opens a browser and listens on a loopback redirect URI; tests follow the URL headlessly.

The response is validated in the order RFC 9207 §2.4 requires: ``iss`` first (simple string
comparison; absent when the server promised it is a failure), so that the error parameters of
a response from the wrong server are never read; then ``state``; then ``error``; then ``code``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from warden.agent._urls import is_loopback
from warden.agent.discovery import ServerMetadata
from warden.agent.errors import AuthorizationError, DiscoveryError
from warden.agent.flow import FlowContext
from warden.agent.pkce import S256, new_code_verifier, new_state, s256_challenge, same_secret
from warden.agent.registration import AuthMethod
from warden.agent.tokens import TokenSet

__all__ = [
    "AuthorizationCodeFlow",
    "OpenAuthorizationUrl",
    "authorization_url",
    "read_authorization_response",
]

OpenAuthorizationUrl = Callable[[str], Awaitable[str]]
"""``async (authorization_url) -> callback_url``: let the person approve, return where the
browser was sent back to (the redirect URI with its query)."""


def authorization_url(
    ctx: FlowContext, *, redirect_uri: str, state: str, code_verifier: str
) -> str:
    """The authorization request (OAuth 2.1 §4.1.1), keeping any query the endpoint has."""
    if ctx.server.authorization_endpoint is None:
        raise DiscoveryError("The authorization server has no authorization_endpoint")
    params = {
        "response_type": "code",
        "client_id": ctx.client.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": s256_challenge(code_verifier),
        "code_challenge_method": S256,
        "resource": ctx.resource,
    }
    if ctx.scope:
        params["scope"] = ctx.scope
    return str(httpx.URL(ctx.server.authorization_endpoint).copy_merge_params(params))


def read_authorization_response(
    callback_url: str, *, redirect_uri: str, state: str, server: ServerMetadata
) -> str:
    """Validate the authorization response and return its ``code``.

    :raises AuthorizationError: the response is not at the redirect URI, fails the ``iss`` or
        ``state`` check, is an error response (``error`` set) or has no code.
    """
    if not _at(callback_url, redirect_uri):
        raise AuthorizationError("The authorization response is not at the redirect URI")
    params = parse_qs(urlsplit(callback_url).query, keep_blank_values=True)
    if any(len(values) > 1 for values in params.values()):
        raise AuthorizationError("The authorization response repeats a parameter")
    single = {name: values[0] for name, values in params.items()}
    iss = single.get("iss")
    if iss is None and server.iss_parameter_supported:
        raise AuthorizationError("The authorization response has no iss (RFC 9207)")
    if iss is not None and iss != server.issuer:
        raise AuthorizationError(
            f"The authorization response is from {iss!r}, not {server.issuer!r}"
        )
    if not same_secret(single.get("state"), state):
        raise AuthorizationError("The authorization response state does not match")
    if "error" in single:
        raise AuthorizationError(
            "The authorization server refused",
            error=single["error"],
            description=single.get("error_description"),
        )
    code = single.get("code")
    if not code:
        raise AuthorizationError("The authorization response has no code")
    return code


@dataclass(frozen=True, slots=True)
class AuthorizationCodeFlow:
    """Authorization code + PKCE through ``open_authorization_url``.

    :param redirect_uri: where the person's browser returns; registered with the client. A
        loopback ``http://127.0.0.1/...`` URI may carry any port when used (RFC 8252 §7.3).
    """

    open_authorization_url: OpenAuthorizationUrl
    redirect_uri: str
    refresh_tokens: bool = True
    """Register for ``refresh_token`` too, so the person is not asked again at expiry."""

    @property
    def grant_types(self) -> tuple[str, ...]:
        return (
            ("authorization_code", "refresh_token")
            if self.refresh_tokens
            else ("authorization_code",)
        )

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        return (self.redirect_uri,)

    @property
    def auth_method(self) -> AuthMethod:
        return "none"

    async def authorize(self, ctx: FlowContext) -> TokenSet:
        state, verifier = new_state(), new_code_verifier()
        url = authorization_url(
            ctx, redirect_uri=self.redirect_uri, state=state, code_verifier=verifier
        )
        callback = await self.open_authorization_url(url)
        code = read_authorization_response(
            callback, redirect_uri=self.redirect_uri, state=state, server=ctx.server
        )
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            "resource": ctx.resource,
        }
        return await ctx.request_token(form)


def _at(url: str, redirect_uri: str) -> bool:
    """Same scheme, host and path; the port may differ only on loopback (RFC 8252 §7.3)."""
    here, there = urlsplit(url), urlsplit(redirect_uri)
    same_port = here.port == there.port or is_loopback(there.hostname)
    return (here.scheme, here.hostname, here.path) == (
        there.scheme,
        there.hostname,
        there.path,
    ) and same_port
