"""Token revocation (RFC 7009): https://www.rfc-editor.org/rfc/rfc7009

The caller authenticates as at the token endpoint; a public client names itself with its
``client_id`` (RFC 7009 §2.1). A client revokes only its own tokens: a foreign, unknown or
already dead token gets the same ``200`` with no effect (RFC 7009 §2.2, SEC-41), so the answer
says nothing about other clients' tokens.

- A refresh token: its grant is revoked, and with it every refresh and access token of the
  family (RFC 7009 §2.1: the server SHOULD revoke the other tokens of the same grant).
- An access token: its ``jti`` goes on the denylist until the token expires. The grant stays:
  a client dropping one short-lived access token (one tab, one task) has not asked to end the
  whole authorization; revoking the refresh token does that.

``token_type_hint`` is a hint only: any value is accepted and the token's shape decides.
Warden can revoke every kind of token it issues, so ``unsupported_token_type`` never occurs.
"""

from __future__ import annotations

from warden.clock import Clock
from warden.oauth.introspection import TokenInspector, looks_like_jwt
from warden.oauth.model import AuditEvent, Client
from warden.oauth.ports import Stores
from warden.oauth.requests import OAuthRequest

__all__ = ["revoke_token"]


async def revoke_token(
    request: OAuthRequest,
    caller: Client,
    stores: Stores,
    *,
    inspector: TokenInspector,
    clock: Clock,
) -> None:
    """Revoke the ``token`` parameter if it is a live token of ``caller``; else do nothing."""
    token = request.form.require("token")
    request.form.get("token_type_hint")  # a hint only; still refuses a repeated one
    now = clock.now()
    if looks_like_jwt(token):
        claims = await inspector.access_token(token, caller, stores)
        if claims is None:
            return
        await stores.denylist.add(claims["jti"], float(claims["exp"]))
        kind, grant_id = "access_token", claims.get("grant_id")
    else:
        found = await inspector.refresh_token(token, caller, stores)
        if found is None:
            return
        grant_id = found[1].grant_id
        await stores.grants.revoke(grant_id, now)
        kind = "refresh_token"
    await stores.audit.record(
        AuditEvent(
            event="token.revoked",
            at=now,
            client_id=caller.client_id,
            grant_id=grant_id,
            source=request.client_ip,
            data={"token_type": kind},
        )
    )
