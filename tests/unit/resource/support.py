"""A fake authorization server for the resource-library tests: keys, metadata, JWKS, tokens.

Everything is served over ``httpx.MockTransport`` and every request is recorded, so tests can
assert how often keys were fetched and that an attacker's host was never contacted. Tokens
are signed by hand (not through a JOSE library's safety checks) so tests can forge the
malformed and malicious ones a resource server must refuse.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

from warden.clock import FrozenClock

ISSUER = "https://as.example"
RESOURCE = "https://rs.example/mcp"
OTHER_RESOURCE = "https://other.example/mcp"
METADATA_URL = "https://as.example/.well-known/oauth-authorization-server"
JWKS_URL = "https://as.example/jwks.json"
INTROSPECTION_URL = "https://as.example/introspect"
NOW = 1_800_000_000.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sign(header: Mapping[str, Any], payload: bytes | Mapping[str, Any], key: Key, alg: str) -> str:
    """A compact JWS over exactly these bytes, signed with ``alg`` whatever the header says."""
    body = payload if isinstance(payload, bytes) else encode_json(payload)
    signing_input = f"{b64(encode_json(header))}.{b64(body)}"
    signature = JWSRegistry.algorithms[alg].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def hs256(header: Mapping[str, Any], payload: Mapping[str, Any], secret: bytes) -> str:
    signing_input = f"{b64(encode_json(header))}.{b64(encode_json(payload))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def unsigned(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    return f"{b64(encode_json(header))}.{b64(encode_json(payload))}."


@dataclass
class SigningKey:
    kid: str
    alg: str
    key: Key

    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.as_dict(private=False), "kid": self.kid, "alg": self.alg, "use": "sig"}


def new_key(alg: str = "ES256", kid: str | None = None) -> SigningKey:
    kid = kid or secrets.token_urlsafe(8)
    if alg == "ES256":
        return SigningKey(kid, alg, ECKey.generate_key("P-256"))
    if alg == "EdDSA":
        return SigningKey(kid, alg, OKPKey.generate_key("Ed25519"))
    if alg == "RS256":
        return SigningKey(kid, alg, RSAKey.generate_key(2048))
    raise ValueError(alg)


@dataclass
class FakeAuthorizationServer:
    """Metadata, JWKS and introspection of :data:`ISSUER`, over a mock transport."""

    clock: FrozenClock
    keys: list[SigningKey] = field(default_factory=lambda: [new_key()])
    requests: list[httpx.Request] = field(default_factory=list)
    metadata_issuer: str = ISSUER
    introspection: Callable[[httpx.Request], httpx.Response] | None = None
    jwks_status: int = 200

    @property
    def key(self) -> SigningKey:
        return self.keys[0]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url == METADATA_URL:
            return httpx.Response(200, json=self.metadata())
        if url == JWKS_URL:
            if self.jwks_status != 200:
                return httpx.Response(self.jwks_status)
            return httpx.Response(200, json={"keys": [k.public_jwk() for k in self.keys]})
        if url == INTROSPECTION_URL and self.introspection is not None:
            return self.introspection(request)
        return httpx.Response(404)

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.metadata_issuer,
            "jwks_uri": JWKS_URL,
            "introspection_endpoint": INTROSPECTION_URL,
            "response_types_supported": ["code"],
        }

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler))

    def fetches(self, url: str = JWKS_URL) -> int:
        return sum(1 for r in self.requests if str(r.url) == url)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock.now())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "usr_alice",
            "aud": RESOURCE,
            "exp": now + 300,
            "iat": now,
            "nbf": now,
            "jti": secrets.token_urlsafe(8),
            "client_id": "agent-1",
            "scope": "read:calendar",
            "act": {"sub": "agent-1"},
            "actor_type": "agent",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def header(self, key: SigningKey | None = None, **overrides: Any) -> dict[str, Any]:
        key = key or self.key
        header = {"alg": key.alg, "typ": "at+jwt", "kid": key.kid, **overrides}
        return {k: v for k, v in header.items() if v is not None}

    def mint(
        self, key: SigningKey | None = None, header: Mapping[str, Any] | None = None, **claims: Any
    ) -> str:
        """A valid access token for :data:`RESOURCE`, with ``claims`` and ``header`` changed."""
        key = key or self.key
        return sign(self.header(key, **(header or {})), self.claims(**claims), key.key, key.alg)
