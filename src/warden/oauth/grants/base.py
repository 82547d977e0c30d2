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
from warden.oauth.issuance import TokenMinter, TokenResponse
from warden.oauth.model import Client
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
    "narrow_resources",
    "narrow_scope",
    "requested_resources",
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
        ctx.form.get_all("resource"),
        policy=ctx.settings.resource_policy,
        store=ctx.stores.resources,
        allow_loopback_http=ctx.settings.is_development,
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
