"""The client credentials grant: a client acting as itself (OAuth 2.1 §4.2, RFC 6749 §4.4).

https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1#section-4.2

Only confidential clients may use it (SEC-29): a public client proves nothing about itself.
The scope is what the client registered, or the part of it that it asks for, and must still be
allowed by the catalogue for the client's kind and origin. The token's ``sub`` is the client
itself, with no user claims (SEC-40); there is no refresh token, since the client can simply
authenticate again (RFC 6749 §4.4.3).
"""

from __future__ import annotations

from warden.errors import InvalidScopeError, UnauthorizedClientError
from warden.oauth.grants.base import GrantContext, choose_audience, issue, requested_resources
from warden.oauth.issuance import TokenResponse
from warden.oauth.scopes import covered_by, format_scope, parse_scope

__all__ = ["client_credentials"]


async def client_credentials(ctx: GrantContext) -> TokenResponse:
    """Issue an access token for the client itself."""
    client = ctx.client
    if client.is_public:
        raise UnauthorizedClientError("Public clients may not use client_credentials")
    registered = parse_scope(client.scope)
    requested = parse_scope(ctx.form.get("scope"))
    if requested and not covered_by(requested, registered):
        raise InvalidScopeError("The requested scope exceeds the client's registered scope")
    scopes = requested or registered
    ctx.scopes.check_known(scopes)
    ctx.scopes.check_allowed(scopes, kind=client.kind, origin=client.origin)
    audience = choose_audience(await requested_resources(ctx), client, ctx.settings)
    return await issue(
        ctx, None, scope=format_scope(scopes), audience=audience, grant_type="client_credentials"
    )
