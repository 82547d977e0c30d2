"""The authorization code grant at the token endpoint (OAuth 2.1 §4.1.3, RFC 7636 §4.6).

https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1#section-4.1.3

The checks, in order:

1. the code exists and was issued to this client (SEC-21);
2. ``redirect_uri``, if sent, equals the authorized one (SEC-24);
3. the PKCE verifier matches the code's S256 challenge, and a code without a challenge is
   refused outright (SEC-22, SEC-23);
4. a code already used: this is a second *valid* redemption, so the grant made from the code
   is revoked with every token it produced (SEC-19). An invalid replay fails at 1–3 and
   revokes nothing, so a stranger holding a stolen code cannot revoke the real user's grant;
5. the code has not expired (SEC-25); ``resource`` and ``scope`` stay within what was
   authorized (SEC-26);
6. the code is consumed by a single compare-and-set (SEC-20): of concurrent redemptions
   exactly one wins, and the others count as replays (step 4).
"""

from __future__ import annotations

from typing import NoReturn

from warden.errors import InvalidGrantError
from warden.oauth import pkce
from warden.oauth.grants.base import GrantContext, issue, narrowed, revoke_family, start_grant
from warden.oauth.issuance import TokenResponse
from warden.oauth.model import AuthorizationCode

__all__ = ["exchange_code"]


async def exchange_code(ctx: GrantContext) -> TokenResponse:
    """Redeem an authorization code for tokens."""
    value = ctx.form.require("code")
    verifier = pkce.check_verifier(ctx.form.get("code_verifier"))
    code = await _redeemable(ctx, value, verifier)
    if code.consumed_at is not None:
        await _replayed(ctx, code)
    if ctx.now >= code.expires_at:
        raise InvalidGrantError("The authorization code has expired")
    scope, audience = await narrowed(ctx, scope=code.scope, resources=code.resources)
    if await ctx.stores.users.get(code.user_id) is None:
        raise InvalidGrantError("The authorization code is invalid", detail="user is gone")
    if not await ctx.stores.codes.consume(code.code_hash, ctx.now):
        await _replayed(ctx, code)
    grant = await start_grant(
        ctx,
        grant_id=code.grant_id,
        user_id=code.user_id,
        kind="authorization_code",
        scope=code.scope,
        resources=code.resources,
        auth_time=code.auth_time,
    )
    return await issue(ctx, grant, scope=scope, audience=audience, grant_type="authorization_code")


async def _redeemable(ctx: GrantContext, value: str, verifier: str) -> AuthorizationCode:
    """Steps 1–3: a code this client may redeem with this verifier."""
    code = await ctx.stores.codes.get(ctx.hasher.digest(value))
    if code is None or code.client_id != ctx.client.client_id:
        raise InvalidGrantError("The authorization code is invalid")
    redirect_uri = ctx.form.get("redirect_uri")
    if redirect_uri is not None and redirect_uri != code.redirect_uri:
        raise InvalidGrantError("redirect_uri does not match the authorization request")
    if code.code_challenge is None or code.code_challenge_method != pkce.S256:
        raise InvalidGrantError("The authorization code has no PKCE challenge")
    if not pkce.verify(verifier, code.code_challenge):
        raise InvalidGrantError("code_verifier does not match the code_challenge")
    return code


async def _replayed(ctx: GrantContext, code: AuthorizationCode) -> NoReturn:
    """Step 4: revoke everything issued from the code, then refuse (SEC-19)."""
    await revoke_family(
        ctx, code.grant_id, user_id=code.user_id, reason="authorization_code_replayed"
    )
    raise InvalidGrantError("The authorization code has already been used")
