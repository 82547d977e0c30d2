"""Token introspection (RFC 7662), https://www.rfc-editor.org/rfc/rfc7662

For opaque tokens, or for JWTs when revocation must take effect at once: the resource asks
the authorization server, authenticating as a confidential client (RFC 7662 §2.1, HTTP Basic
per RFC 6749 §2.3.1), whether the token is active and what it grants.

An answer is accepted only if ``active`` is ``true``, ``token_type`` (if given) is Bearer (a
refresh token or a DPoP token is never a bearer access token), ``iss`` (if given) is the
configured issuer, ``aud`` names this resource (SEC-79), and the times hold. Positive answers
may be cached for a few seconds (``cache_seconds``, default none), never past ``exp``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import OrderedDict
from typing import Any, Final
from urllib.parse import quote_plus

import httpx

from warden.clock import Clock, SystemClock
from warden.resource._claims import audience, build_principal, check_leeway, check_times
from warden.resource._compact import MAX_TOKEN_BYTES
from warden.resource._http import OwnsHttpClient, new_client, request_json
from warden.resource._urls import check_issuer, check_resource
from warden.resource.discovery import AuthorizationServerMetadata
from warden.resource.errors import InvalidTokenError
from warden.resource.principal import Principal

__all__ = ["IntrospectionVerifier"]

MAX_CACHE_SECONDS: Final = 60.0
MAX_CACHE_ENTRIES: Final = 4096
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
"""RFC 6750 §2.1 ``b64token``: what may follow ``Bearer``."""


class IntrospectionVerifier(OwnsHttpClient):
    """Verifies access tokens by asking the authorization server (RFC 7662).

    :param issuer: the authorization server's issuer identifier, exactly.
    :param resource: this resource's identifier, which ``aud`` must name.
    :param client_id: this resource's client at the authorization server.
    :param client_secret: its secret.
    :param endpoint: the introspection endpoint; discovered from the issuer's metadata
        (``introspection_endpoint``) if not given.
    :param cache_seconds: how long an active answer is reused (0: ask every time).
    """

    def __init__(
        self,
        *,
        issuer: str,
        resource: str,
        client_id: str,
        client_secret: str,
        endpoint: str | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        cache_seconds: float = 0.0,
        leeway_seconds: float = 30.0,
    ) -> None:
        if not 0 <= cache_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"cache_seconds must be within 0..{MAX_CACHE_SECONDS:g}")
        self._issuer = check_issuer(issuer)
        self._resource = check_resource(resource)
        self._owned_http: httpx.AsyncClient | None = None
        if http is None:
            http = self._owned_http = new_client()
        self._http = http
        self._clock = clock or SystemClock()
        self._endpoint = None if endpoint is None else check_resource(endpoint, "endpoint")
        self._metadata = AuthorizationServerMetadata(issuer, http=self._http, clock=self._clock)
        self._authorization = _basic(client_id, client_secret)
        self.cache_seconds = cache_seconds
        self.leeway_seconds = check_leeway(leeway_seconds)
        self._cache: OrderedDict[bytes, tuple[float, Principal]] = OrderedDict()

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def resource(self) -> str:
        return self._resource

    async def verify(self, token: str) -> Principal:
        """The principal of an active token for this resource.

        :raises InvalidTokenError: inactive, or not acceptable here.
        :raises AuthorizationServerUnavailable: the endpoint did not answer properly (which
            includes refusing this resource's own credentials).
        """
        if len(token) > MAX_TOKEN_BYTES or not _B64TOKEN.fullmatch(token):
            raise InvalidTokenError("not a bearer token")
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock.now()
        if (cached := self._cache.get(digest)) is not None and now < cached[0]:
            return cached[1]
        answer = await self._introspect(token)
        principal = self._principal(answer, token, now)
        self._remember(digest, principal, now)
        return principal

    async def _introspect(self, token: str) -> dict[str, Any]:
        endpoint = self._endpoint or await self._metadata.endpoint("introspection_endpoint")
        return await request_json(
            self._http,
            "POST",
            endpoint,
            data={"token": token, "token_type_hint": "access_token"},
            headers={"authorization": self._authorization, "accept": "application/json"},
        )

    def _principal(self, answer: dict[str, Any], token: str, now: float) -> Principal:
        if answer.get("active") is not True:
            raise InvalidTokenError("inactive")
        token_type = answer.get("token_type")
        if token_type is not None and str(token_type).lower() != "bearer":
            raise InvalidTokenError("not a bearer access token")
        if "iss" in answer and answer["iss"] != self._issuer:
            raise InvalidTokenError("iss is not the configured issuer")
        aud = audience(answer, self._resource)
        exp = check_times(answer, now=now, leeway=self.leeway_seconds, required=False)
        return build_principal(
            answer,
            token,
            issuer=self._issuer,
            audience=aud,
            expires_at=exp,
            subject_required=False,
        )

    def _remember(self, digest: bytes, principal: Principal, now: float) -> None:
        if self.cache_seconds <= 0:
            return
        until = now + self.cache_seconds
        if principal.expires_at is not None:
            until = min(until, principal.expires_at)
        self._cache[digest] = (until, principal)
        while len(self._cache) > MAX_CACHE_ENTRIES:
            self._cache.popitem(last=False)


def _basic(client_id: str, client_secret: str) -> str:
    """HTTP Basic credentials, each part form-encoded first (RFC 6749 §2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")
