"""Deleting what has expired, so that storage does not grow for ever.

Every row is kept ``retention_seconds`` past its end, and authorization codes longer: a used
code's replay must still find the code to revoke the grant it produced (RFC 6749
§4.1.2; SEC-19), so it is kept ``code_retention_seconds`` past its expiry. Refresh
tokens go before grants, so that a grant is deleted only once no token refers to it and a
replayed rotated token can always revoke its family (SEC-31).
"""

from __future__ import annotations

from warden.oauth.ports import Stores

__all__ = ["purge_expired"]


async def purge_expired(
    stores: Stores, now: float, *, retention_seconds: int, code_retention_seconds: int
) -> dict[str, int]:
    """Purge every store in one unit of work; return how many rows each lost."""
    before = now - retention_seconds
    return {
        "authorization_codes": await stores.codes.purge(now - code_retention_seconds),
        "refresh_tokens": await stores.refresh_tokens.purge(before),
        "grants": await stores.grants.purge(before),
        "sessions": await stores.sessions.purge(before),
        "revoked_access_tokens": await stores.denylist.purge(before),
        "device_authorizations": await stores.devices.purge(before),
    }
