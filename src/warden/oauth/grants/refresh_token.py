"""The refresh token grant (RFC 6749 §6, OAuth 2.1 §4.3; RFC 9700 §4.14.2).

https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1#section-4.3

Refresh tokens are rotated on every use (SEC-30): the presented token is consumed by a single
compare-and-set (SEC-32) and a new one is issued in the same family (grant). Presenting a
token that was already rotated out is the sign of a stolen token, so the whole family is
revoked: the thief's and the client's tokens alike (SEC-31). One exception: a second use
within ``tokens.refresh_token_reuse_grace_seconds`` of the rotation (a client racing itself
with two tabs or a retry) is refused without revoking, so concurrent refreshes leave exactly
one live token instead of none.

A refresh token is bound to its client (SEC-33), dies with its grant, and expires at its idle
timeout or the grant's absolute end (SEC-35). ``scope`` and ``resource`` may narrow the new
access token; the new refresh token keeps the grant's full scope (SEC-34).
"""

from __future__ import annotations

from typing import NoReturn

from warden.errors import InvalidGrantError
from warden.oauth.grants.base import GrantContext, issue, narrowed, revoke_family
from warden.oauth.issuance import TokenResponse
from warden.oauth.model import RefreshToken

__all__ = ["refresh"]


async def refresh(ctx: GrantContext) -> TokenResponse:
    """Exchange a refresh token for a new access token and a new refresh token."""
    token = await ctx.stores.refresh_tokens.get(
        ctx.hasher.digest(ctx.form.require("refresh_token"))
    )
    if token is None or token.client_id != ctx.client.client_id:
        raise InvalidGrantError("The refresh token is invalid")
    if token.consumed_at is not None:
        await _reused(ctx, token)
    grant = await ctx.stores.grants.get(token.grant_id)
    if grant is None or not grant.is_active(ctx.now):
        raise InvalidGrantError("The refresh token has been revoked or has expired")
    if ctx.now >= token.expires_at:
        raise InvalidGrantError("The refresh token has expired")
    scope, audience = await narrowed(ctx, scope=grant.scope, resources=grant.resources)
    if not await ctx.stores.refresh_tokens.consume(token.token_hash, ctx.now):
        # Lost a race against a concurrent refresh of the same token: not a theft signal.
        raise InvalidGrantError("The refresh token has already been used")
    return await issue(ctx, grant, scope=scope, audience=audience, grant_type="refresh_token")


async def _reused(ctx: GrantContext, token: RefreshToken) -> NoReturn:
    """A rotated-out token came back: revoke its family unless it is a same-moment race."""
    assert token.consumed_at is not None
    grace = ctx.settings.tokens.refresh_token_reuse_grace_seconds
    if ctx.now - token.consumed_at >= grace:
        await revoke_family(ctx, token.grant_id, user_id=None, reason="refresh_token_reused")
    raise InvalidGrantError("The refresh token has already been used")
