"""The token exchange grant (RFC 8693 §2): a token for another audience, acting for the same
principal, with the actors that passed it on nested in ``act``.

https://www.rfc-editor.org/rfc/rfc8693#section-2

Who may exchange (SEC-94): an authenticated confidential client that an administrator
registered with the ``urn:ietf:params:oauth:grant-type:token-exchange`` grant type. A
self-registered (dynamic or CIMD) client cannot put itself on that list by registering the
grant type: exchange moves a person's authorization to another audience, which only the
operator may allow. The tokens and the delegation rules are in :mod:`warden.oauth.exchange`;
the issued token:

- **audience** (SEC-97): the one ``resource`` or ``audience`` (both RFC 8707 resource URIs,
  checked by the resource policy, and by ``exchange.targets`` for the client if listed), else the
  default audience; anything else is ``invalid_target`` (RFC 8693 §2.2.2);
- **scope** (SEC-96): the requested scope if the subject token's scope covers it
  (hierarchically) and the client may hold it, else ``invalid_scope``; absent, the subject
  token's scope;
- **claims**: ``sub`` stays the person; ``act`` names the exchanging client with the earlier
  actors nested inside; ``actor_type`` is the new actor's kind;
- **lifetime** (SEC-99): ``exp`` no later than the subject token's. No refresh token unless
  ``exchange.refresh_tokens`` is on, the client is registered for ``refresh_token`` and the
  subject token belongs to a person's grant: then the exchange becomes a grant of its own
  (kind ``token_exchange``), delegated from the subject's and revoked with it.
"""

from __future__ import annotations

from dataclasses import replace

from warden.errors import (
    InvalidRequestError,
    InvalidScopeError,
    InvalidTargetError,
    UnauthorizedClientError,
)
from warden.oauth.client_metadata import TOKEN_EXCHANGE
from warden.oauth.exchange import (
    ACCESS_TOKEN_TYPE,
    Actors,
    PresentedToken,
    check_actor_token,
    check_may_act,
    check_whose,
    next_actors,
    subject_token,
)
from warden.oauth.grants.base import GrantContext, choose_audience, issue, narrow_scope
from warden.oauth.issuance import Delegation, TokenResponse, act_claim, seconds_left
from warden.oauth.model import Grant
from warden.oauth.resources import resolve_resources
from warden.oauth.scopes import covered_by, format_scope, parse_scope
from warden.oauth.secrets import new_token

__all__ = ["TOKEN_EXCHANGE", "token_exchange"]


async def token_exchange(ctx: GrantContext) -> TokenResponse:
    """Exchange a subject token for an access token acting for the same principal."""
    client = ctx.client
    if client.is_public or client.origin != "static":
        raise UnauthorizedClientError("This client may not use token exchange")
    if ctx.form.get("requested_token_type") not in (None, ACCESS_TOKEN_TYPE):
        raise InvalidRequestError("Unsupported requested_token_type")
    subject, actors = await _delegation(ctx)
    scope = _scope(ctx, subject)
    audience = await _audience(ctx)
    grant, refreshable = await _grant(ctx, subject, actors, scope=scope, audience=audience)
    response = await issue(
        ctx,
        grant,
        scope=scope,
        audience=audience,
        grant_type=TOKEN_EXCHANGE,
        delegation=Delegation(
            not_after=subject.expires_at,
            refreshable=refreshable,
            audit={"act": act_claim(actors), "subject_jti": subject.jti},
        ),
    )
    return replace(response, issued_token_type=ACCESS_TOKEN_TYPE)


async def _delegation(ctx: GrantContext) -> tuple[PresentedToken, Actors]:
    """The validated subject token and the actor chain of the new token (SEC-95, 97, 98)."""
    client, settings = ctx.client, ctx.settings.exchange
    subject = await subject_token(
        ctx.form, ctx.inspector, ctx.stores, max_depth=settings.max_chain_depth
    )
    await check_actor_token(ctx.form, ctx.inspector, ctx.stores, client)
    check_whose(subject, client, ctx.settings.resource_servers.get(client.client_id, ()))
    check_may_act(subject, client.client_id, ctx.settings.issuer)
    actors = next_actors(subject, client.client_id, max_depth=settings.max_chain_depth)
    if seconds_left(subject.expires_at, ctx.now) < 1:
        raise InvalidRequestError("The subject_token is invalid, expired or revoked")
    return subject, actors


def _scope(ctx: GrantContext, subject: PresentedToken) -> str:
    """Equal to or narrower than the subject token's, and allowed to the client (SEC-96)."""
    scope = narrow_scope(ctx.form.get("scope"), format_scope(subject.scope))
    scopes, client = parse_scope(scope), ctx.client
    if client.scope is not None and not covered_by(scopes, parse_scope(client.scope)):
        raise InvalidScopeError("The scope exceeds the client's registered scope")
    ctx.scopes.check_known(scopes)
    ctx.scopes.check_allowed(scopes, kind=client.kind, origin=client.origin)
    return scope


async def _audience(ctx: GrantContext) -> str:
    """One audience from ``resource`` and ``audience`` together (RFC 8693 §2.1; SEC-97)."""
    named: list[str] = []
    for name in ("resource", "audience"):
        named += await resolve_resources(
            ctx.form.get_all(name), settings=ctx.settings, store=ctx.stores.resources
        )
    audience = choose_audience(tuple(dict.fromkeys(named)), ctx.client, ctx.settings)
    targets = ctx.settings.exchange.targets.get(ctx.client.client_id)
    # The client's own id, the default audience, names no resource and so is never refused.
    if targets is not None and audience != ctx.client.client_id and not _among(audience, targets):
        raise InvalidTargetError("The client may not request this audience")
    return audience


def _among(uri: str, uris: list[str]) -> bool:
    """Matching ignores one trailing slash, as resource matching does (RFC 8707)."""
    return uri.rstrip("/") in {u.rstrip("/") for u in uris}


async def _grant(
    ctx: GrantContext,
    subject: PresentedToken,
    actors: Actors,
    *,
    scope: str,
    audience: str,
) -> tuple[Grant | None, bool]:
    """The grant the new token belongs to, and whether it is the exchange's own.

    By default the subject's grant, as the new actors carry it on: the token dies with that
    grant and no refresh token comes with it. With ``exchange.refresh_tokens`` on, a stored
    grant of its own, delegated from the subject's.
    """
    if subject.grant_id is None:
        if not subject.is_client_itself:
            raise InvalidRequestError("The subject_token belongs to no grant")
        return None, False
    parent = await ctx.stores.grants.get(subject.grant_id)
    if parent is None or parent.user_id != (None if subject.is_client_itself else subject.sub):
        raise InvalidRequestError("The subject_token belongs to no grant")
    carried = replace(
        parent,
        client_id=ctx.client.client_id,
        scope=scope,
        resources=(audience,),
        actor_chain=actors,
    )
    if not _may_refresh(ctx, parent):
        return carried, False
    own = replace(
        carried,
        grant_id=new_token(16),
        kind="token_exchange",
        parent_grant_id=parent.grant_id,
        created_at=ctx.now,
        expires_at=min(ctx.now + ctx.settings.tokens.refresh_token_ttl_seconds, parent.expires_at),
    )
    await ctx.stores.grants.add(own)
    return own, True


def _may_refresh(ctx: GrantContext, parent: Grant) -> bool:
    """SEC-99: only where the operator allows it, and only for a person's grant."""
    return (
        ctx.settings.exchange.refresh_tokens
        and "refresh_token" in ctx.client.grant_types
        and parent.user_id is not None
    )
