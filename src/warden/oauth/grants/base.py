"""What every grant handler receives, and the narrowing rules they share.

A token request may ask for less than was authorized, never more: ``scope`` is narrowed with
the hierarchical :func:`~warden.oauth.scopes.covered_by` (RFC 6749 §3.3, §6; SEC-26, SEC-34)
and ``resource`` must name one of the authorized resources (RFC 8707 §2.2; SEC-26). The
token's ``aud`` is then exactly one resource (SEC-36).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from warden.errors import InvalidScopeError, InvalidTargetError
from warden.oauth.introspection import TokenInspector
from warden.oauth.issuance import Delegation, TokenMinter, TokenResponse
from warden.oauth.model import AuditEvent, Client, Grant
from warden.oauth.ports import Stores
from warden.oauth.requests import OAuthRequest, Params
from warden.oauth.resources import resolve_resources
from warden.oauth.scopes import ScopeCatalogue, covered_by, format_scope, parse_scope
from warden.oauth.secrets import SecretHasher
from warden.settings import Settings

__all__ = [
    "GrantContext",
    "GrantHandler",
    "choose_audience",
    "issue",
    "narrow_resources",
    "narrow_scope",
    "narrowed",
    "requested_resources",
    "revoke_family",
    "start_grant",
]


@dataclass(frozen=True, slots=True)
class GrantContext:
    """One token request, its authenticated client, and the components a grant uses."""

    request: OAuthRequest
    stores: Stores
    client: Client
    now: float
    settings: Settings
    scopes: ScopeCatalogue
    hasher: SecretHasher
    minter: TokenMinter
    inspector: TokenInspector
    """Finds live tokens presented in the request (token exchange)."""

    @property
    def form(self) -> Params:
        return self.request.form


GrantHandler = Callable[[GrantContext], Awaitable[TokenResponse]]


async def requested_resources(ctx: GrantContext) -> tuple[str, ...]:
    """The ``resource`` parameters of the request, validated and canonical (RFC 8707 §2)."""
    return await resolve_resources(
        ctx.form.get_all("resource"), settings=ctx.settings, store=ctx.stores.resources
    )


def narrow_resources(requested: Sequence[str], authorized: Sequence[str]) -> tuple[str, ...]:
    """The authorized resources the request names; all of them if it names none.

    Matching ignores one trailing slash (clients add or drop it, mcp-auth P3) and answers with
    the authorized form, so ``aud`` stays the exact string the resource expects.

    :raises InvalidTargetError: a requested resource was not authorized (SEC-26, SEC-34).
    """
    if not requested:
        return tuple(authorized)
    chosen = []
    for uri in requested:
        match = next((a for a in authorized if a.rstrip("/") == uri.rstrip("/")), None)
        if match is None:
            raise InvalidTargetError("The resource was not authorized")
        chosen.append(match)
    return tuple(chosen)


def choose_audience(resources: Sequence[str], client: Client, settings: Settings) -> str:
    """The one ``aud`` of the token (SEC-36).

    With no resource at all, the configured ``tokens.default_audience``, else the client's own
    id: a value no resource server takes for itself, never an empty or wildcard audience.

    :raises InvalidTargetError: several resources; ask for one at a time (RFC 8707 §2).
    """
    if len(resources) > 1:
        raise InvalidTargetError("Request one resource at a time")
    if resources:
        return resources[0]
    return settings.tokens.default_audience or client.client_id


def narrow_scope(requested: str | None, granted: str) -> str:
    """The requested scope if the grant covers it, else ``invalid_scope``; absent = all.

    RFC 6749 §6: a refresh may ask for less, never more; the same holds for a code's token
    request (SEC-26). Coverage is hierarchical: ``read:calendar`` covers
    ``read:calendar:next-7-days``.
    """
    wanted = parse_scope(requested)
    if not wanted:
        return granted
    if not covered_by(wanted, parse_scope(granted)):
        raise InvalidScopeError("The requested scope exceeds what was granted")
    return format_scope(wanted)


async def narrowed(ctx: GrantContext, *, scope: str, resources: Sequence[str]) -> tuple[str, str]:
    """The ``scope`` and ``aud`` of this token: the request's narrowing of what was authorized.

    The resource is checked before the scope, so a request wrong on both is ``invalid_target``.
    """
    audience = choose_audience(
        narrow_resources(await requested_resources(ctx), resources), ctx.client, ctx.settings
    )
    return narrow_scope(ctx.form.get("scope"), scope), audience


async def start_grant(
    ctx: GrantContext,
    *,
    grant_id: str,
    user_id: str,
    kind: str,
    scope: str,
    resources: tuple[str, ...],
    auth_time: float | None,
) -> Grant:
    """Store the token family of a person's authorization, for this request's client.

    Its absolute lifetime, counted from now, bounds every refresh (SEC-35).
    """
    grant = Grant(
        grant_id=grant_id,
        client_id=ctx.client.client_id,
        user_id=user_id,
        scope=scope,
        resources=resources,
        created_at=ctx.now,
        expires_at=ctx.now + ctx.settings.tokens.refresh_token_ttl_seconds,
        kind=kind,
        auth_time=auth_time,
    )
    await ctx.stores.grants.add(grant)
    return grant


async def issue(
    ctx: GrantContext,
    grant: Grant | None,
    *,
    scope: str,
    audience: str,
    grant_type: str,
    delegation: Delegation | None = None,
) -> TokenResponse:
    """Mint the tokens of this request's client, recording where the request came from."""
    return await ctx.minter.mint(
        ctx.stores,
        client=ctx.client,
        grant=grant,
        scope=scope,
        audience=audience,
        grant_type=grant_type,
        source=ctx.request.client_ip,
        delegation=delegation,
    )


async def revoke_family(
    ctx: GrantContext, grant_id: str, *, user_id: str | None, reason: str
) -> None:
    """Revoke a grant with every token it produced, and record why (SEC-19, SEC-31)."""
    await ctx.stores.grants.revoke(grant_id, ctx.now)
    await ctx.stores.audit.record(
        AuditEvent(
            event="grant.revoked",
            at=ctx.now,
            client_id=ctx.client.client_id,
            user_id=user_id,
            grant_id=grant_id,
            source=ctx.request.client_ip,
            data={"reason": reason},
        )
    )
