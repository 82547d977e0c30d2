"""Which JWS algorithm a key may verify, and the verification itself (RFC 7518, RFC 8037).

The rules of RFC 8725 §3.1–3.2 and 8725bis §2.11 (SEC-76):

- Only asymmetric algorithms can be allowed at all: a resource server holds public keys, and
  an HMAC "verified" with a public key is forgeable by anyone (the HS256-with-the-RSA-key
  attack, CVE-2024-37568). ``none`` is never allowed, in any spelling.
- Each key verifies with one algorithm, taken from the key (its ``alg``, or its type and
  curve), never from the token. A token whose ``alg`` is not exactly that is refused.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any, Final

from joserfc import jws
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import Key
from joserfc.jws import JWSRegistry

from warden.resource._compact import MAX_TOKEN_BYTES

__all__ = [
    "DEFAULT_ALGORITHMS",
    "PUBLIC_MEMBERS",
    "check_algorithms",
    "key_algorithms",
    "signature_valid",
]

_KEY_FITS: Final[Mapping[str, tuple[str, frozenset[str] | None]]] = {
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "ES256K": ("EC", frozenset({"secp256k1"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "Ed25519": ("OKP", frozenset({"Ed25519"})),
    "Ed448": ("OKP", frozenset({"Ed448"})),
    **{f"{p}{n}": ("RSA", None) for p in ("RS", "PS") for n in (256, 384, 512)},
}
"""Every algorithm that may be allowed, with the key type (and curves) it needs."""

DEFAULT_ALGORITHMS: Final = ("ES256", "EdDSA", "RS256")
"""Warden signs with ES256 or EdDSA; RS256 is what most other authorization servers use."""

PUBLIC_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("kty", "crv", "x", "y"),
    "OKP": ("kty", "crv", "x"),
    "RSA": ("kty", "n", "e"),
}
"""The members a public JWK is imported from; private members in a JWKS are ignored."""

MIN_RSA_BITS: Final = 2048


def check_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """Validate a configured allow-list.

    :raises ValueError: empty, or naming ``none``, an HMAC or an unknown algorithm.
    """
    if isinstance(algorithms, str):
        raise ValueError("algorithms must be a collection of names, not one string")
    values = tuple(algorithms)
    if not values:
        raise ValueError("the algorithm allow-list is empty")
    for alg in values:
        if alg not in _KEY_FITS:
            raise ValueError(
                f"{alg!r} cannot be allowed: only asymmetric JWS algorithms "
                f"({', '.join(sorted(_KEY_FITS))}) verify with public keys (SEC-76)"
            )
    return values


def _fits(alg: str, jwk: Mapping[str, Any]) -> bool:
    kty, curves = _KEY_FITS[alg]
    if jwk.get("kty") != kty:
        return False
    if curves is not None:
        return jwk.get("crv") in curves
    return _rsa_bits(jwk) >= MIN_RSA_BITS


def key_algorithms(jwk: Mapping[str, Any], allowed: Iterable[str]) -> frozenset[str]:
    """The allowed names of the one algorithm ``jwk`` verifies; empty if it is unusable.

    A key's own ``alg`` decides. Without one, its type and curve do; an RSA key without
    ``alg`` is usable only when a single RSA algorithm is allowed, since RS256 and PS256 are
    different algorithms over the same key type.
    """
    allowed = tuple(allowed)
    alg = jwk.get("alg")
    if alg is not None:
        return frozenset({alg}) if alg in allowed and _fits(alg, jwk) else frozenset()
    fitting = frozenset(a for a in allowed if _fits(a, jwk))
    if jwk.get("kty") == "RSA" and len(fitting) != 1:
        return frozenset()
    return fitting


def _rsa_bits(jwk: Mapping[str, Any]) -> int:
    modulus = jwk.get("n")
    if not isinstance(modulus, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()


class _OneAlgorithm(JWSRegistry):
    """A joserfc registry that knows exactly one algorithm, and warns about none.

    joserfc would warn on every ``EdDSA`` use (RFC 9864 prefers ``Ed25519``), but issuers,
    Warden included, still sign with that name, so the warning is dropped here.
    """

    max_header_length = MAX_TOKEN_BYTES

    def __init__(self, alg: str) -> None:
        super().__init__(algorithms=[alg], strict_check_header=False)
        self._alg = alg

    def get_alg(self, name: str) -> JWSAlgModel:
        if name != self._alg or name not in self.algorithms:
            raise UnsupportedAlgorithmError(f"algorithm {name!r} is not allowed")
        return self.algorithms[name]


_REGISTRIES: Final = {alg: _OneAlgorithm(alg) for alg in _KEY_FITS}


def signature_valid(token: str, key: Key, alg: str) -> bool:
    """True if ``token``'s signature verifies under ``key`` with exactly ``alg``."""
    try:
        jws.deserialize_compact(token, key, registry=_REGISTRIES[alg])
    except (JoseError, ValueError, TypeError):
        return False
    return True
