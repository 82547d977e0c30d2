"""A person's connections: every agent and app they let act for them, and taking one back.

OAuth 2.1 §7.9 and SEC-70: a person can see which clients hold their consent and revoke them.
A connection is one client seen from one person: the consent they gave it (SEC-68) and the
grants it still holds for them (code, device and token-exchange grants alike).

Revoking a connection revokes every grant of that client for that person, and the grants
delegated onward from them by token exchange, in one unit of work, and forgets the consent, so
the next authorization asks again. Refresh tokens die with their grant (``invalid_grant``);
introspection refuses the grant's access tokens at once (RFC 7662, ``active: false``); a
resource that validates JWTs locally accepts one until it expires, which is why access tokens
live minutes (``tokens.access_token_ttl_seconds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warden.oauth.consent import ScopeGroup, scope_groups
from warden.oauth.model import AuditEvent, Consent, Grant
from warden.oauth.ports import Stores
from warden.oauth.principals import ClientProfile, client_profile
from warden.oauth.scopes import ScopeCatalogue, parse_scope

__all__ = ["Connection", "list_connections", "revoke_connection"]


@dataclass(frozen=True, slots=True)
class Connection:
    """One client acting for one person."""

    client: ClientProfile
    scopes: frozenset[str]
    scope_groups: tuple[ScopeGroup, ...]
    resources: tuple[str, ...]
    granted_at: float
    last_used_at: float | None

    def to_dict(self) -> dict[str, Any]:
        """The account API's view (times in seconds since the epoch, like JWT NumericDate)."""
        client = self.client
        return {
            "client_id": client.client_id,
            "client_name": client.name,
            "client_kind": client.kind,
            "verified": client.verified,
            "publisher": client.publisher,
            "software_id": client.software_id,
            "software_version": client.software_version,
            "scopes": [
                {
                    "scope": line.name,
                    "description": line.description,
                    "sensitivity": line.sensitivity,
                }
                for group in self.scope_groups
                for line in group.scopes
            ],
            "resources": list(self.resources),
            "granted_at": int(self.granted_at),
            "last_used_at": None if self.last_used_at is None else int(self.last_used_at),
        }


async def list_connections(
    user_id: str, stores: Stores, *, catalogue: ScopeCatalogue, now: float
) -> list[Connection]:
    """Every client holding ``user_id``'s consent or a live grant, most recently used first."""
    consents = {c.client_id: c for c in await stores.consents.list_for_user(user_id)}
    grants: dict[str, list[Grant]] = {}
    for grant in await stores.grants.list_for_user(user_id):
        if grant.is_active(now):
            grants.setdefault(grant.client_id, []).append(grant)
    found = []
    for client_id in consents.keys() | grants.keys():
        client = await stores.clients.get(client_id)
        if client is None:  # removing a client revokes its grants and consents with it
            continue
        found.append(
            _connection(
                client_profile(client),
                consents.get(client_id),
                grants.get(client_id, ()),
                catalogue,
            )
        )
    return sorted(found, key=lambda c: (-(c.last_used_at or c.granted_at), c.client.name))


def _connection(
    client: ClientProfile,
    consent: Consent | None,
    grants: Sequence[Grant],
    catalogue: ScopeCatalogue,
) -> Connection:
    scopes = set(consent.scopes if consent else ())
    resources = set(consent.resources if consent else ())
    for grant in grants:
        scopes |= parse_scope(grant.scope)
        resources |= set(grant.resources)
    # Every token issued updates the consent's last_used_at; grants without a consent (device,
    # token exchange) were last used, at the latest we know, when they were created.
    started = [g.created_at for g in grants]
    used = list(started)
    if consent is not None:
        started.append(consent.granted_at)
        if consent.last_used_at is not None:
            used.append(consent.last_used_at)
    return Connection(
        client=client,
        scopes=frozenset(scopes),
        scope_groups=scope_groups(scopes, frozenset(), catalogue),
        resources=tuple(sorted(resources)),
        granted_at=min(started),
        last_used_at=max(used, default=None),
    )


async def revoke_connection(
    user_id: str,
    client_id: str,
    stores: Stores,
    *,
    now: float,
    via: str,
    source: str | None,
    portal: str | None = None,
) -> bool:
    """Revoke every grant ``client_id`` holds for ``user_id`` and forget the consent (SEC-70).

    ``via`` ("page" or "api") and ``portal`` (the account API caller's client_id) go to the
    audit trail. False if there was nothing to revoke.
    """
    grant_ids = await stores.grants.revoke_for_client(client_id, now, user_id=user_id)
    forgotten = await stores.consents.delete(user_id, client_id)
    if not grant_ids and not forgotten:
        return False
    data: dict[str, Any] = {"grant_ids": grant_ids, "via": via}
    if portal is not None:
        data["portal"] = portal
    await stores.audit.record(
        AuditEvent(
            event="consent.revoked",
            at=now,
            client_id=client_id,
            user_id=user_id,
            actor_type="human",
            source=source,
            data=data,
        )
    )
    return True
