"""Software statements: publisher-signed client metadata.

RFC 7591 §2.3 (https://www.rfc-editor.org/rfc/rfc7591#section-2.3): a software statement is a
JWT whose claims are client metadata, signed by a party the authorization server trusts. Its
claims take precedence over the plain JSON metadata of the same request (§3.1.1). Warden trusts
the issuers configured in ``registration.trusted_software_statement_issuers`` (issuer → JWKS).

An issuer Warden does not trust gives ``unapproved_software_statement``; a statement that is
malformed, badly signed, expired or not yet valid gives ``invalid_software_statement``
(RFC 7591 §3.2.2).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from warden.clock import Clock
from warden.errors import (
    ConfigurationError,
    InvalidSoftwareStatementError,
    UnapprovedSoftwareStatementError,
)

__all__ = ["ALGORITHMS", "SoftwareStatements"]

ALGORITHMS = ("ES256", "ES384", "EdDSA", "PS256", "RS256")
"""Asymmetric algorithms only: a shared secret would let anyone holding it mint statements."""

MAX_STATEMENT_LENGTH = 8192
LEEWAY_SECONDS = 60
_REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})


class SoftwareStatements:
    """Verifies software statements against the trusted issuers' keys."""

    def __init__(self, trusted: Mapping[str, KeySet], clock: Clock) -> None:
        self._trusted = dict(trusted)
        self._clock = clock

    @classmethod
    def from_settings(cls, issuers: Mapping[str, str], clock: Clock) -> SoftwareStatements:
        """Load each issuer's JWKS, given inline as JSON text or as a file path.

        :raises ConfigurationError: a JWKS cannot be read or parsed.
        """
        trusted = {}
        for issuer, source in issuers.items():
            try:
                text = source if source.lstrip().startswith("{") else Path(source).read_text()
                trusted[issuer] = KeySet.import_key_set(json.loads(text))
            except (OSError, ValueError, JoseError) as exc:
                raise ConfigurationError(
                    f"cannot load the JWKS of software statement issuer {issuer}: {exc}"
                ) from exc
        return cls(trusted, clock)

    def verify(self, statement: Any) -> dict[str, Any]:
        """The metadata claims of a valid statement from a trusted issuer.

        :raises UnapprovedSoftwareStatementError: the issuer is not trusted.
        :raises InvalidSoftwareStatementError: anything else is wrong with it.
        """
        issuer = self._unverified_issuer(statement)
        keys = self._trusted.get(issuer)
        if keys is None:
            raise UnapprovedSoftwareStatementError("The software statement issuer is not trusted")
        try:
            token = jwt.decode(statement, keys, algorithms=ALGORITHMS)
            jwt.JWTClaimsRegistry(
                now=int(self._clock.now()), leeway=LEEWAY_SECONDS, iss={"value": issuer}
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidSoftwareStatementError(
                "The software statement is invalid", detail=str(exc)
            ) from None
        claims = {k: v for k, v in token.claims.items() if k not in _REGISTERED_CLAIMS}
        return {**claims, "software_statement": statement}

    @staticmethod
    def _unverified_issuer(statement: Any) -> str:
        """Read ``iss`` before verifying, only to choose whose keys verify the signature."""
        if not isinstance(statement, str) or not 0 < len(statement) <= MAX_STATEMENT_LENGTH:
            raise InvalidSoftwareStatementError("The software statement must be a compact JWT")
        try:
            payload = json.loads(jws.extract_compact(statement.encode()).payload)
        except (JoseError, ValueError):
            raise InvalidSoftwareStatementError("The software statement is malformed") from None
        issuer = payload.get("iss") if isinstance(payload, dict) else None
        if not isinstance(issuer, str):
            raise InvalidSoftwareStatementError("The software statement has no issuer")
        return issuer
