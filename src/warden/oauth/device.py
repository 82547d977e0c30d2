"""OAuth 2.0 Device Authorization Grant (RFC 8628): the codes and the device authorization
endpoint.

https://www.rfc-editor.org/rfc/rfc8628

An agent without a browser (a CLI, an MCP client on a headless machine) asks for two codes
(§3.1, §3.2): a ``device_code`` it polls the token endpoint with
(:mod:`warden.oauth.grants.device_code`), and a short ``user_code`` that the person enters at
``verification_uri`` on a device that has a browser (:mod:`warden.oauth.device_verification`).

The request is checked like an authorization request, in order::

    check_grant_type → check_client_origin → check_scope → check_resource

The client authenticates as at the token endpoint (§3.1; a public client sends
``client_id``), must have registered the device grant type, and, unless
``device.allow_self_registered_clients`` is set, must have been registered by an operator:
a self-registered client could be anybody, and the device flow is the one a remote phisher
can start on someone else's behalf (§5.4; SEC-92).

User codes (§6.1; SEC-89) are 8 characters from 20 consonants, about 34.6 bits: no vowels
(so no words), no digits (so no 0/O or 1/I), shown as ``XXXX-XXXX``, compared without case
and separators. Both codes are stored only as digests (SEC-108); the device code has 256 bits.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import urlencode

from warden.clock import Clock
from warden.errors import (
    InvalidScopeError,
    TemporarilyUnavailableError,
    TooManyRequestsError,
    UnauthorizedClientError,
)
from warden.oauth.client_auth import ClientAuthenticator
from warden.oauth.client_metadata import DEVICE_CODE
from warden.oauth.model import AuditEvent, Client, DeviceAuthorization
from warden.oauth.ports import Stores
from warden.oauth.requests import OAuthRequest, Params
from warden.oauth.resources import resolve_resources
from warden.oauth.scopes import ScopeCatalogue, covered_by, format_scope, parse_scope
from warden.oauth.secrets import SecretHasher, new_token
from warden.policy.ratelimit import RateLimiter
from warden.settings import Settings

__all__ = [
    "CHECKS",
    "DEVICE_AUTHORIZATION_PATH",
    "USER_CODE_ALPHABET",
    "USER_CODE_BITS",
    "USER_CODE_LENGTH",
    "VERIFICATION_PATH",
    "DeviceAuthorizationEndpoint",
    "DeviceAuthorizationResponse",
    "DeviceEnv",
    "format_user_code",
    "new_user_code",
    "normalise_user_code",
    "user_code_digest",
]

DEVICE_AUTHORIZATION_PATH: Final = "/device_authorization"
VERIFICATION_PATH: Final = "/device"

USER_CODE_ALPHABET: Final = "BCDFGHJKLMNPQRSTVWXZ"
"""RFC 8628 §6.1's example alphabet: 20 consonants, no vowels and no digits."""
USER_CODE_LENGTH: Final = 8
USER_CODE_BITS: Final = USER_CODE_LENGTH * math.log2(len(USER_CODE_ALPHABET))
_MAX_USER_CODE_INPUT = 32
_SEPARATORS = re.compile(r"[\s\-]+")
_ADD_ATTEMPTS = 5


def new_user_code() -> str:
    """A fresh user code in normalised form (8 letters, no separator)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def format_user_code(code: str) -> str:
    """``BCDFGHJK`` → ``BCDF-GHJK``: two groups are easier to read out and type (§6.1)."""
    return f"{code[:4]}-{code[4:]}"


def normalise_user_code(value: str | None) -> str | None:
    """What a person typed, as a normalised code; None if it cannot be a code at all.

    Case does not matter, and spaces and hyphens are ignored (RFC 8628 §6.1).
    """
    if not value or len(value) > _MAX_USER_CODE_INPUT or not value.isascii():
        return None
    code = _SEPARATORS.sub("", value).upper()
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def user_code_digest(hasher: SecretHasher, code: str) -> str:
    """The stored form of a normalised user code (SEC-108)."""
    return hasher.digest(f"device-user-code:{code}")


class DeviceEnv(Protocol):
    """The long-lived components the device endpoints read (``AppContext`` has them)."""

    settings: Settings
    clock: Clock
    hasher: SecretHasher
    scopes: ScopeCatalogue
    limiter: RateLimiter


@dataclass(frozen=True, slots=True)
class DeviceAuthorizationResponse:
    """The device authorization response (RFC 8628 §3.2)."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int

    @property
    def verification_uri_complete(self) -> str:
        """The verification URI with the code filled in, for a QR code or a link (§3.3.1)."""
        return f"{self.verification_uri}?{urlencode({'user_code': self.user_code})}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": self.verification_uri_complete,
            "expires_in": self.expires_in,
            "interval": self.interval,
        }


@dataclass
class _Draft:
    """What the checks have established so far."""

    params: Params
    client: Client
    scopes: frozenset[str] = frozenset()
    resources: tuple[str, ...] = ()


Check = Callable[[_Draft, DeviceEnv, Stores], Awaitable[None]]


async def check_grant_type(draft: _Draft, env: DeviceEnv, stores: Stores) -> None:
    """The client registered the device grant (RFC 8628 §3.1, RFC 6749 §5.2)."""
    if DEVICE_CODE not in draft.client.grant_types:
        raise UnauthorizedClientError("This client may not use the device authorization grant")


async def check_client_origin(draft: _Draft, env: DeviceEnv, stores: Stores) -> None:
    """Only operator-registered clients, unless the setting allows others (§5.4; SEC-92)."""
    if draft.client.origin != "static" and not env.settings.device.allow_self_registered_clients:
        raise UnauthorizedClientError(
            "Self-registered clients may not use the device authorization grant"
        )


async def check_scope(draft: _Draft, env: DeviceEnv, stores: Stores) -> None:
    """Known scopes, within the client's registered ``scope``, allowed for its kind.

    As at the authorization endpoint (RFC 8628 §3.1, RFC 6749 §3.3; SEC-16).
    """
    scopes = parse_scope(draft.params.get("scope"))
    env.scopes.check_known(scopes)
    client = draft.client
    if client.scope is not None and not covered_by(scopes, parse_scope(client.scope)):
        raise InvalidScopeError("Scope not registered for this client")
    env.scopes.check_allowed(scopes, kind=client.kind, origin=client.origin)
    draft.scopes = scopes


async def check_resource(draft: _Draft, env: DeviceEnv, stores: Stores) -> None:
    """Resource indicators, as at the authorization endpoint (RFC 8707 §2; SEC-15)."""
    draft.resources = await resolve_resources(
        draft.params.get_all("resource"), settings=env.settings, store=stores.resources
    )


CHECKS: tuple[Check, ...] = (check_grant_type, check_client_origin, check_scope, check_resource)


class DeviceAuthorizationEndpoint:
    """``POST /device_authorization`` (RFC 8628 §3.1, §3.2), inside a unit of work."""

    def __init__(self, env: DeviceEnv, authenticator: ClientAuthenticator) -> None:
        self._env = env
        self._authenticator = authenticator

    async def handle(self, request: OAuthRequest, stores: Stores) -> DeviceAuthorizationResponse:
        """Authenticate the client, check the request, and issue a pair of codes.

        :raises OAuthError: ``invalid_client``, ``unauthorized_client``, ``invalid_scope``,
            ``invalid_target``, ``invalid_request``, or 429 (SEC-116).
        """
        await self._check_rate(request.client_ip)
        settings = self._env.settings
        client = await self._authenticator.authenticate(
            request, stores, endpoint=settings.endpoint(DEVICE_AUTHORIZATION_PATH)
        )
        draft = _Draft(request.form, client)
        for check in CHECKS:
            await check(draft, self._env, stores)
        issued = await self._issue(draft, stores)
        await stores.audit.record(
            AuditEvent(
                event="device.requested",
                at=self._env.clock.now(),
                client_id=client.client_id,
                actor_type=client.kind,
                source=request.client_ip,
                data={"scope": format_scope(draft.scopes), "resources": list(draft.resources)},
            )
        )
        return issued

    async def _check_rate(self, ip: str | None) -> None:
        """Every request stores a pending code, so each source gets a budget (SEC-116)."""
        decision = await self._env.limiter.hit(
            f"device-authorization:ip:{ip or 'unknown'}",
            limit=self._env.settings.device.requests_per_ip_per_minute,
            window_seconds=60,
        )
        if not decision.allowed:
            raise TooManyRequestsError(decision.retry_after_seconds)

    async def _issue(self, draft: _Draft, stores: Stores) -> DeviceAuthorizationResponse:
        env, device = self._env, self._env.settings.device
        now = env.clock.now()
        # Old authorizations go, so their user codes can be drawn again.
        await stores.devices.purge(expired_before=now - device.code_ttl_seconds)
        device_code = new_token(32)
        for _ in range(_ADD_ATTEMPTS):
            user_code = new_user_code()
            added = await stores.devices.add(
                DeviceAuthorization(
                    device_code_hash=env.hasher.digest(device_code),
                    user_code_hash=user_code_digest(env.hasher, user_code),
                    client_id=draft.client.client_id,
                    scope=format_scope(draft.scopes),
                    resources=draft.resources,
                    created_at=now,
                    expires_at=now + device.code_ttl_seconds,
                    interval=device.interval_seconds,
                )
            )
            if added:
                return DeviceAuthorizationResponse(
                    device_code=device_code,
                    user_code=format_user_code(user_code),
                    verification_uri=env.settings.endpoint(VERIFICATION_PATH),
                    expires_in=device.code_ttl_seconds,
                    interval=device.interval_seconds,
                )
        # Five live codes drawn in a row out of 20^8: the table is full of unexpired codes.
        raise TemporarilyUnavailableError("No user code is available; try again later")
