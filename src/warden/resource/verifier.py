"""Local validation of JWT access tokens (RFC 9068 §4), https://www.rfc-editor.org/rfc/rfc9068

:class:`TokenVerifier` checks, in this order, each rule refusing with ``invalid_token``:

1. the compact serialisation only, ``[A-Za-z0-9_-]`` in three segments, at most 8 KB, header
   and payload strict JSON objects without duplicate members (SEC-83);
2. no ``crit`` header, since no extension is understood (RFC 7515 §4.1.11; SEC-82), and no
   ``b64`` (RFC 7797, never a JWT);
3. ``typ`` ``at+jwt`` or ``application/at+jwt``, so ID tokens, logout tokens and client
   assertions signed by the same key are refused (RFC 9068 §2.1, RFC 8725 §3.11; SEC-77);
4. ``alg`` in the configured allow-list, compared case-sensitively: ``none``, ``nOnE`` and every
   HMAC are never in it (RFC 8725 §3.1; SEC-76);
5. the key with exactly this ``kid`` in the issuer's JWKS, refetched once on a miss at most
   once a minute; ``jku``/``x5u``/``jwk``/``x5c`` are ignored (SEC-81), and the token's
   ``alg`` must be the key's own algorithm (RFC 8725bis §2.11; SEC-76);
6. the signature;
7. ``iss`` equal to the configured issuer, byte for byte (RFC 9068 §4; SEC-78);
8. ``aud`` containing this resource's identifier, exactly (RFC 8707; SEC-79);
9. ``exp`` and ``iat`` present, ``exp``/``nbf``/``iat`` within a leeway of at most a minute, no
   ``iat`` in the future (SEC-80);
10. ``sub`` and ``client_id`` present, ``scope`` and ``act`` well formed, no ``cnf`` binding.

With ``introspection=`` it then asks the authorization server whether the token is still
active (RFC 7662), for deployments that need revocation to take effect at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

import httpx

from warden.clock import Clock, SystemClock
from warden.resource._algorithms import DEFAULT_ALGORITHMS, check_algorithms, signature_valid
from warden.resource._claims import audience, build_principal, check_leeway, check_times
from warden.resource._compact import parse_compact
from warden.resource._http import OwnsHttpClient, new_client
from warden.resource._urls import check_issuer, check_resource
from warden.resource.discovery import AuthorizationServerMetadata
from warden.resource.errors import InvalidTokenError
from warden.resource.introspection import IntrospectionVerifier
from warden.resource.jwks import JwksCache, VerificationKey
from warden.resource.principal import Principal

__all__ = ["ACCESS_TOKEN_TYPES", "BearerVerifier", "TokenVerifier"]

ACCESS_TOKEN_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
_REFUSED_HEADERS: Final = ("crit", "b64", "enc", "zip")


class BearerVerifier(Protocol):
    """What :class:`~warden.resource.RequireBearer` needs: turn a token into a principal."""

    @property
    def issuer(self) -> str: ...

    @property
    def resource(self) -> str: ...

    async def verify(self, token: str) -> Principal:
        """The token's principal.

        :raises InvalidTokenError: the token is not acceptable here.
        :raises AuthorizationServerUnavailable: it cannot be checked right now.
        """
        ...


class TokenVerifier(OwnsHttpClient):
    """Validates RFC 9068 JWT access tokens against the issuer's published keys.

    :param issuer: the authorization server's issuer identifier, exactly as in its metadata.
    :param resource: this resource's identifier, the ``aud`` tokens must carry (the same
        string as the protected resource metadata ``resource``).
    :param algorithms: the JWS algorithms accepted; asymmetric ones only.
    :param jwks: a fixed key set (a JWKS mapping) or a :class:`JwksCache`; by default keys
        are fetched from ``jwks_uri``, or from the ``jwks_uri`` of the issuer's metadata.
    :param http: the HTTP client for metadata and keys; one is created (and closed by
        :meth:`aclose`) if not given.
    :param introspection: also ask the authorization server whether the token is active.
    """

    def __init__(
        self,
        *,
        issuer: str,
        resource: str,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway_seconds: float = 30.0,
        jwks: JwksCache | Mapping[str, Any] | None = None,
        jwks_uri: str | None = None,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        introspection: IntrospectionVerifier | None = None,
    ) -> None:
        self._issuer = check_issuer(issuer)
        self._resource = check_resource(resource)
        self.algorithms = check_algorithms(algorithms)
        self.leeway_seconds = check_leeway(leeway_seconds)
        self._clock = clock or SystemClock()
        self._owned_http: httpx.AsyncClient | None = None
        self._introspection = introspection
        if isinstance(jwks, JwksCache):
            self._keys = jwks
        elif jwks is not None:
            self._keys = JwksCache.from_jwks(jwks, self.algorithms)
        else:
            if http is None:
                http = self._owned_http = new_client()
            source = jwks_uri or AuthorizationServerMetadata(issuer, http=http, clock=self._clock)
            self._keys = JwksCache(
                http=http, source=source, algorithms=self.algorithms, clock=self._clock
            )

    @property
    def issuer(self) -> str:
        return self._issuer

    @property
    def resource(self) -> str:
        return self._resource

    async def verify(self, token: str) -> Principal:
        """The principal of a valid access token for this resource (see the module docstring).

        :raises InvalidTokenError: the token is refused; ``reason`` says why, for logs only.
        :raises AuthorizationServerUnavailable: no keys could be obtained from the issuer.
        """
        jws = parse_compact(token)
        alg, kid = self._check_header(jws.header)
        key = await self._keys.get(kid)
        if key is None:
            raise InvalidTokenError("unknown kid")
        if alg not in key.algorithms:
            raise InvalidTokenError("alg is not the key's algorithm")
        if not signature_valid(token, key.key, alg):
            # The issuer may have replaced the key under the same kid (mcp-auth.md P11).
            fresh = await self._keys.refetch(kid)
            if fresh is None or not self._signed_by(token, fresh, alg):
                raise InvalidTokenError("bad signature")
        principal = self._principal(jws.payload, token)
        if self._introspection is not None:
            await self._introspection.verify(token)
        return principal

    def _check_header(self, header: Mapping[str, Any]) -> tuple[str, str]:
        if refused := [name for name in _REFUSED_HEADERS if name in header]:
            raise InvalidTokenError(f"header member {refused[0]!r} is not accepted")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidTokenError("typ is not at+jwt")
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidTokenError("alg is not allowed")
        if not isinstance(kid, str) or not kid:
            raise InvalidTokenError("no kid")
        return alg, kid

    @staticmethod
    def _signed_by(token: str, key: VerificationKey, alg: str) -> bool:
        return alg in key.algorithms and signature_valid(token, key.key, alg)

    def _principal(self, claims: Mapping[str, Any], token: str) -> Principal:
        if claims.get("iss") != self._issuer:
            raise InvalidTokenError("iss is not the configured issuer")
        aud = audience(claims, self._resource)
        now = self._clock.now()
        exp = check_times(claims, now=now, leeway=self.leeway_seconds, required=True)
        return build_principal(
            claims,
            token,
            issuer=self._issuer,
            audience=aud,
            expires_at=exp,
            subject_required=True,
        )
