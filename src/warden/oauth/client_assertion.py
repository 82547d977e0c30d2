"""JWT client assertions: ``private_key_jwt`` (RFC 7523 §2.2, §3; OIDC Core §9).

https://www.rfc-editor.org/rfc/rfc7523 · https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication

A client proves possession of a private key by signing a short JWT about itself. Warden checks
it against the public keys the client registered, inline (``jwks``) or by reference
(``jwks_uri``, fetched through the SSRF guard and cached briefly), and then:

- the algorithm is one of :data:`ASSERTION_ALGS` and matches the key's type; never ``none``
  and never an HMAC algorithm, whose "key" would be a value the server also knows;
- ``iss`` and ``sub`` both equal the ``client_id`` (RFC 7523 §3 items 1–2);
- ``aud`` names Warden: its issuer, its token endpoint, or the endpoint being called (item 3);
- ``exp`` is present, in the future and at most :data:`MAX_LIFETIME_SECONDS` away (item 4);
- ``nbf`` and ``iat``, when present, are not in the future (items 5–6);
- ``jti`` is present and used once: it is kept until ``exp`` (item 7).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any, Final, Protocol

from joserfc import jws
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from warden.clock import Clock
from warden.oauth.model import Client
from warden.oauth.ports import TokenDenylist

__all__ = [
    "ASSERTION_ALGS",
    "JWT_BEARER",
    "MAX_LIFETIME_SECONDS",
    "ClientKeys",
    "JsonFetcher",
    "unverified_issuer",
    "verify_client_assertion",
]

JWT_BEARER: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` of RFC 7523 §2.2."""

ASSERTION_ALGS: Final = ("ES256", "EdDSA", "RS256", "PS256")
"""Asymmetric algorithms only (RFC 8725 §3.1, §3.2)."""

MAX_LIFETIME_SECONDS: Final = 3600
"""The furthest ``exp`` may be. Short is better, but common libraries (authlib among them) sign
assertions for an hour by default; the ``jti`` cache already makes each one single use."""

MAX_ASSERTION_BYTES: Final = 8192
CLOCK_SKEW_SECONDS: Final = 30
JWKS_CACHE_SECONDS: Final = 300
"""How long a fetched ``jwks_uri`` document is reused, unless its cache headers say less."""

_KEY_TYPES: Final = {"ES256": "EC", "EdDSA": "OKP", "RS256": "RSA", "PS256": "RSA"}


class _Fetched(Protocol):
    @property
    def body(self) -> Any: ...
    @property
    def max_age_seconds(self) -> int | None: ...


class JsonFetcher(Protocol):
    """What :class:`warden.net.SafeFetcher` offers: one guarded GET of a JSON document."""

    async def get_json(self, url: str) -> _Fetched: ...


class _OneAlgorithm(JWSRegistry):
    """A registry allowing exactly one algorithm.

    joserfc warns on every use of ``EdDSA`` (RFC 9864 prefers ``Ed25519``); Warden advertises
    the older name because that is what clients send, so the warning is not raised here.
    """

    def __init__(self, alg: str) -> None:
        super().__init__(algorithms=[alg])

    def get_alg(self, name: str) -> JWSAlgModel:
        if self.allowed is None or name not in self.allowed or name not in self.algorithms:
            raise UnsupportedAlgorithmError(f"algorithm {name!r} is not allowed")
        return self.algorithms[name]


_REGISTRIES: Final = {alg: _OneAlgorithm(alg) for alg in ASSERTION_ALGS}


class ClientKeys:
    """The public keys of ``private_key_jwt`` clients, with ``jwks_uri`` documents cached.

    The cache is per process and short (:data:`JWKS_CACHE_SECONDS`); an assertion whose ``kid``
    is not in a cached set triggers one refetch, so a client that rotated its keys is not
    locked out until the entry expires.
    """

    def __init__(self, fetcher: JsonFetcher, clock: Clock, *, max_entries: int = 1024) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._max_entries = max_entries
        self._cache: dict[str, tuple[float, KeySet]] = {}

    async def key_set(self, client: Client, *, refresh: bool = False) -> KeySet | None:
        """The client's registered keys, or None if it has none usable."""
        inline = client.metadata.get("jwks")
        if inline is not None:
            return _import_key_set(inline)
        uri = client.metadata.get("jwks_uri")
        if not isinstance(uri, str):
            return None
        cached = self._cache.get(uri)
        if cached is not None and not refresh and cached[0] > self._clock.now():
            return cached[1]
        return await self._fetch(uri)

    async def _fetch(self, uri: str) -> KeySet | None:
        try:
            document = await self._fetcher.get_json(uri)
        except Exception:  # the fetcher fails with one generic error, logged by itself
            return None
        keys = _import_key_set(document.body)
        if keys is None:
            return None
        max_age = document.max_age_seconds
        lifetime = JWKS_CACHE_SECONDS if max_age is None else min(max_age, JWKS_CACHE_SECONDS)
        if len(self._cache) >= self._max_entries:
            self._cache.pop(next(iter(self._cache)))
        self._cache[uri] = (self._clock.now() + lifetime, keys)
        return keys


def _import_key_set(value: object) -> KeySet | None:
    """Public keys only: a set containing a private key is refused outright."""
    if not isinstance(value, Mapping) or not isinstance(value.get("keys"), list):
        return None
    keys = value["keys"]
    if not keys or any(not isinstance(k, Mapping) or "d" in k for k in keys):
        return None
    try:
        return KeySet.import_key_set({"keys": [dict(k) for k in keys]})
    except (JoseError, ValueError, TypeError):
        return None


def unverified_issuer(assertion: str) -> str | None:
    """The ``sub`` an assertion claims, read before verification to find the client.

    RFC 7523 §3 item 2: ``sub`` is the client_id when the JWT authenticates a client. The
    value is only a lookup key; :func:`verify_client_assertion` checks it afterwards.
    """
    claims = _segment(assertion, 1)
    sub = claims.get("sub") if claims else None
    return sub if isinstance(sub, str) and sub else None


async def verify_client_assertion(
    assertion: str,
    client: Client,
    *,
    keys: ClientKeys,
    audiences: Collection[str],
    clock: Clock,
    replay: TokenDenylist,
) -> bool:
    """Whether ``assertion`` authenticates ``client`` (RFC 7523 §3); the module lists the rules.

    The ``jti`` is recorded only once everything else holds, so a forged assertion cannot burn
    the identifier of a genuine one.
    """
    claims = await _verified_claims(assertion, client, keys)
    if claims is None or not _claims_acceptable(claims, client, audiences, clock.now()):
        return False
    return await replay.claim(_replay_key(client.client_id, claims["jti"]), float(claims["exp"]))


async def _verified_claims(
    assertion: str, client: Client, keys: ClientKeys
) -> dict[str, Any] | None:
    if len(assertion) > MAX_ASSERTION_BYTES or assertion.count(".") != 2:
        return None
    header = _segment(assertion, 0)
    if header is None or header.get("alg") not in ASSERTION_ALGS:
        return None
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    for refresh in (False, True):
        key_set = await keys.key_set(client, refresh=refresh)
        key = _pick_key(key_set, kid, header["alg"]) if key_set is not None else None
        if key is not None:
            return _verify_signature(assertion, key, header["alg"])
    return None


def _pick_key(key_set: KeySet, kid: str | None, alg: str) -> Any:
    candidates = [k for k in key_set if kid is None or k.kid == kid]
    if kid is None and len(candidates) != 1:
        return None  # without a kid, only an unambiguous one-key set will do
    key = candidates[0] if candidates else None
    if key is None or key.key_type != _KEY_TYPES[alg]:
        return None
    declared = key.get("alg")
    return key if declared in (None, alg) else None


def _verify_signature(assertion: str, key: Any, alg: str) -> dict[str, Any] | None:
    try:
        verified = jws.deserialize_compact(assertion, key, registry=_REGISTRIES[alg])
    except (JoseError, ValueError, TypeError):
        return None
    return _json_object(verified.payload)


def _claims_acceptable(
    claims: Mapping[str, Any], client: Client, audiences: Collection[str], now: float
) -> bool:
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        return False
    aud = claims.get("aud")
    aud_values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(a, str) and a in audiences for a in aud_values):
        return False
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        return False
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return False
    if not now < exp <= now + MAX_LIFETIME_SECONDS:
        return False
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not _is_number(value) or value > now + CLOCK_SKEW_SECONDS):
            return False
    return True


def _replay_key(client_id: str, jti: str) -> str:
    """A denylist entry that cannot collide with an access token's ``jti``.

    The client picks its ``jti`` freely; hashing it with its client_id under a fixed label
    means no assertion can name (and so revoke) one of Warden's own access tokens.
    """
    material = f"client-assertion\x00{client_id}\x00{jti}".encode()
    return hashlib.sha256(material).hexdigest()


def _segment(token: str, index: int) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4))
    except (binascii.Error, ValueError):
        return None
    return _json_object(raw)


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
