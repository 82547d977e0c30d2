"""The client credentials grant (RFC 6749 §4.4, OAuth 2.1 §4.2), for an agent acting as
itself: no person, no refresh token; a new access token is simply requested again.
"""

from __future__ import annotations

from dataclasses import dataclass

from warden.agent.errors import RegistrationError
from warden.agent.flow import FlowContext
from warden.agent.registration import AuthMethod
from warden.agent.tokens import TokenSet

__all__ = ["ClientCredentialsFlow"]


@dataclass(frozen=True, slots=True)
class ClientCredentialsFlow:
    """Client credentials; the client must be confidential (RFC 6749 §4.4)."""

    auth_method: AuthMethod = "client_secret_basic"

    @property
    def grant_types(self) -> tuple[str, ...]:
        return ("client_credentials",)

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        return ()

    async def authorize(self, ctx: FlowContext) -> TokenSet:
        if ctx.client.client_secret is None:
            raise RegistrationError("client_credentials needs a client with a secret")
        form = {"grant_type": "client_credentials", "resource": ctx.resource}
        if ctx.scope:
            form["scope"] = ctx.scope
        return await ctx.request_token(form)
