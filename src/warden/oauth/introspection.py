"""Token introspection (RFC 7662): https://www.rfc-editor.org/rfc/rfc7662

The caller must authenticate as a confidential client (RFC 7662 §2.1); a public client or no
credentials at all is ``invalid_client``. A caller learns about its own tokens only: anything
else, like any unknown, expired or revoked token, is exactly ``{"active": false}`` (RFC 7662
§2.2, SEC-41), so the answer never tells whether a foreign token exists.

One kind of caller sees more: a resource server. RFC 7662 exists so that the resource a
token is presented to can ask about it (§1, §4), and those tokens were issued to other
clients (the agents). A confidential client that an administrator lists as serving some
resources (``resource_servers``: client_id → resource URIs) may also introspect any access
token whose ``aud`` names one of them, and nothing else: a token for another resource is
still ``{"active": false}``, and refresh tokens are only ever their own client's.

An access token is active while its signature and lifetime hold (RFC 9068), its ``jti`` is not
on the denylist (revoked one by one, RFC 7009) and its grant is still active (a revoked grant
takes every token it produced with it, SEC-19, SEC-31). Token exchange asks the same question
of the tokens presented to it, whoever they were issued to (``live_access_token``). A refresh
token is active while it is unused, unexpired and its grant is active. The two kinds differ
in shape (a JWT has two dots, a refresh token none), so ``token_type_hint`` is accepted but
never needed (RFC 7662 §2.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from warden.clock import Clock
from warden.oauth.issuance import AccessTokens
from warden.oauth.model import Client, Grant, RefreshToken
from warden.oauth.ports import Stores
from warden.oauth.requests import OAuthRequest
from warden.oauth.secrets import SecretHasher

__all__ = [
    "INACTIVE",
    "TokenInspector",
    "looks_like_jwt",
]

INACTIVE: Final[Mapping[str, Any]] = MappingProxyType({"active": False})

_ACCESS_TOKEN_FIELDS: Final = (
    "scope",
    "client_id",
    "sub",
    "aud",
    "iss",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "act",
    "actor_type",
)


def looks_like_jwt(token: str) -> bool:
    """Access tokens are JWTs; refresh tokens are opaque base64url with no dots."""
    return token.count(".") == 2


class TokenInspector:
    """Finds a live token of a given client; shared by introspection and revocation."""

    def __init__(
        self,
        *,
        access_tokens: AccessTokens,
        hasher: SecretHasher,
        clock: Clock,
        issuer: str,
        key_refresh_seconds: float = 30,
        resource_servers: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._access_tokens = access_tokens
        self._hasher = hasher
        self._clock = clock
        self._issuer = issuer
        self._key_refresh_seconds = key_refresh_seconds
        self._served = {
            client_id: frozenset(uri.rstrip("/") for uri in uris)
            for client_id, uris in (resource_servers or {}).items()
        }

    async def access_token(
        self, token: str, caller: Client, stores: Stores
    ) -> dict[str, Any] | None:
        """The claims of ``caller``'s live access token ``token``, or None."""
        claims = await self.live_access_token(token, stores)
        if claims is None or claims.get("client_id") != caller.client_id:
            return None
        return claims

    async def live_access_token(self, token: str, stores: Stores) -> dict[str, Any] | None:
        """The claims of a live access token Warden issued to any client, or None.

        The signature is checked against keys reloaded if another worker rotated them.
        """
        claims = await self._access_tokens.verify_fresh(
            token, stores.keys, self._key_refresh_seconds
        )
        if claims is None:
            return None
        if await stores.denylist.contains(claims["jti"]):
            return None
        grant_id = claims.get("grant_id")
        if grant_id is not None:
            grant = await stores.grants.get(grant_id)
            if grant is None or not grant.is_active(self._clock.now()):
                return None
        return claims

    async def refresh_token(
        self, token: str, caller: Client, stores: Stores
    ) -> tuple[RefreshToken, Grant] | None:
        """``caller``'s live refresh token ``token`` and its grant, or None."""
        found = await stores.refresh_tokens.get(self._hasher.digest(token))
        now = self._clock.now()
        if found is None or found.client_id != caller.client_id:
            return None
        if found.consumed_at is not None or now >= found.expires_at:
            return None
        grant = await stores.grants.get(found.grant_id)
        return (found, grant) if grant is not None and grant.is_active(now) else None

    async def introspect(
        self, request: OAuthRequest, caller: Client, stores: Stores
    ) -> Mapping[str, Any]:
        """The RFC 7662 §2.2 response for the ``token`` parameter."""
        token = request.form.require("token")
        request.form.get("token_type_hint")  # a hint only; still refuses a repeated one
        if looks_like_jwt(token):
            claims = await self.live_access_token(token, stores)
            if claims is None or not self._may_see(caller, claims):
                return INACTIVE
            fields: dict[str, Any] = {k: claims[k] for k in _ACCESS_TOKEN_FIELDS if k in claims}
            return {"active": True, "token_type": "Bearer", **fields}
        found = await self.refresh_token(token, caller, stores)
        return INACTIVE if found is None else self._describe_refresh(*found)

    def _may_see(self, caller: Client, claims: Mapping[str, Any]) -> bool:
        """The caller's own token, or one for a resource it serves (SEC-41; RFC 7662 §4)."""
        if claims.get("client_id") == caller.client_id:
            return True
        served = self._served.get(caller.client_id)
        if not served:
            return False
        audience = claims.get("aud")
        values = audience if isinstance(audience, list) else [audience]
        return any(isinstance(v, str) and v.rstrip("/") in served for v in values)

    def _describe_refresh(self, token: RefreshToken, grant: Grant) -> Mapping[str, Any]:
        body: dict[str, Any] = {
            "active": True,
            "token_type": "refresh_token",
            "client_id": token.client_id,
            "sub": grant.user_id or token.client_id,
            "iss": self._issuer,
            "exp": int(token.expires_at),
            "iat": int(token.issued_at),
        }
        if token.scope:
            body["scope"] = token.scope
        if token.resources:
            body["aud"] = token.resources[0] if len(token.resources) == 1 else list(token.resources)
        return body
