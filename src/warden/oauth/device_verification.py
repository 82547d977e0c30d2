"""The device verification page's rules (RFC 8628 §3.3, §5.1, §5.4; SEC-89..93).

https://www.rfc-editor.org/rfc/rfc8628#section-3.3

A signed-in person enters the user code shown on the device, or arrives with it through
``verification_uri_complete``, sees who is asking for what, and approves or denies. The web
layer renders; this module decides:

- **Guessing** (§5.1; SEC-90). Every code looked up counts against three budgets: the
  session's, the IP address's and everyone's together, and it counts *before* the lookup, so
  a right guess past the limit is refused like a wrong one. A wrong, expired, already used
  or malformed code is one and the same answer (:meth:`DeviceVerifier.find` returns None),
  so the page cannot tell an attacker which codes exist.
- **Confirmation** (§5.4; SEC-92). Finding a code never approves it: the person sees the
  client, its scopes and the code, and must press a button.
- **The decision** (SEC-93). The approve/deny form carries a token bound to the session and
  the code (:meth:`DeviceVerifier.confirm_token`), so it cannot be forged from elsewhere or
  replayed for another code. The decision is one compare-and-set on the pending authorization:
  of two concurrent approvals exactly one wins, and it binds the grant to the approver.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol

from warden.errors import TooManyRequestsError
from warden.oauth.clients import ClientDirectory
from warden.oauth.consent import ScopeGroup, scope_groups
from warden.oauth.device import (
    DeviceEnv,
    format_user_code,
    normalise_user_code,
    user_code_digest,
)
from warden.oauth.interaction import Person
from warden.oauth.model import AuditEvent, Client, DeviceAuthorization
from warden.oauth.ports import Stores
from warden.oauth.principals import ClientProfile, client_profile
from warden.oauth.scopes import ScopeCatalogue, parse_scope
from warden.oauth.secrets import constant_time_equals, new_token

__all__ = [
    "DeviceConsentView",
    "DeviceVerificationEnv",
    "DeviceVerifier",
    "FoundDevice",
    "device_consent_view",
]


class DeviceVerificationEnv(DeviceEnv, Protocol):
    clients: ClientDirectory


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """A pending, unexpired authorization and its client, found by the code the person gave."""

    device: DeviceAuthorization
    client: Client
    user_code: str
    """The normalised user code."""


@dataclass(frozen=True, slots=True)
class DeviceConsentView:
    """Everything the confirmation page shows (SEC-67, SEC-92). Plain text; the page escapes."""

    client: ClientProfile
    resources: tuple[str, ...]
    scope_groups: tuple[ScopeGroup, ...]
    username: str
    user_code: str
    """Formatted (``XXXX-XXXX``), for the person to compare with the device's screen."""


def device_consent_view(
    found: FoundDevice, *, catalogue: ScopeCatalogue, username: str
) -> DeviceConsentView:
    """The agent-aware consent for a device, presenting the client as every page does."""
    return DeviceConsentView(
        client=client_profile(found.client),
        resources=found.device.resources,
        scope_groups=scope_groups(parse_scope(found.device.scope), frozenset(), catalogue),
        username=username,
        user_code=format_user_code(found.user_code),
    )


class DeviceVerifier:
    """Finds user codes under the brute-force limits and records the person's decision."""

    def __init__(self, env: DeviceVerificationEnv, *, confirm_key: bytes) -> None:
        self._env = env
        self._confirm_key = confirm_key

    async def find(
        self, stores: Stores, typed: str, *, session_hash: str, ip: str | None
    ) -> FoundDevice | None:
        """The pending authorization of the code the person typed, or None for any failure.

        :raises TooManyRequestsError: a budget is spent (SEC-90); checked before the lookup.
        """
        await self._count_attempt(session_hash, ip)
        code = normalise_user_code(typed)
        if code is None:
            return None
        device = await stores.devices.find_by_user_code(user_code_digest(self._env.hasher, code))
        if device is None or device.status != "pending" or device.is_expired(self._env.clock.now()):
            return None
        client = await self._env.clients.find(device.client_id, stores.clients)
        return FoundDevice(device, client, code) if client is not None else None

    async def _count_attempt(self, session_hash: str, ip: str | None) -> None:
        device = self._env.settings.device
        budgets = (
            (f"device-verify:session:{session_hash[:32]}", device.attempts_per_session),
            (f"device-verify:ip:{ip or 'unknown'}", device.attempts_per_ip),
            ("device-verify:all", device.attempts_global),
        )
        waits = []
        for key, limit in budgets:
            decision = await self._env.limiter.hit(
                key, limit=limit, window_seconds=device.verification_window_seconds
            )
            if not decision.allowed:
                waits.append(decision.retry_after_seconds)
        if waits:
            raise TooManyRequestsError(max(waits), "Too many codes tried; wait and try again")

    def confirm_token(self, session_hash: str, user_code: str) -> str:
        """The approve/deny form's CSRF token: valid for this session and this code only."""
        message = f"{session_hash}\x00{user_code}".encode()
        return hmac.new(self._confirm_key, message, hashlib.sha256).hexdigest()

    def check_confirm_token(self, session_hash: str, user_code: str, token: str | None) -> bool:
        """Compare in constant time (SEC-65, SEC-111)."""
        return token is not None and constant_time_equals(
            self.confirm_token(session_hash, user_code), token
        )

    async def decide(
        self,
        stores: Stores,
        user_code: str,
        person: Person,
        *,
        approve: bool,
        source: str | None,
    ) -> FoundDevice | None:
        """Approve or deny a pending code for ``person``; None if it is no longer pending.

        One compare-and-set (SEC-93); an approval names the grant the device's tokens will
        belong to, and carries the person's sign-in time for ``auth_time``.
        """
        digest = user_code_digest(self._env.hasher, user_code)
        device = await stores.devices.find_by_user_code(digest)
        client = await self._env.clients.find(device.client_id, stores.clients) if device else None
        if device is None or client is None:
            return None
        now = self._env.clock.now()
        grant_id = new_token(16) if approve else None
        decided = await stores.devices.decide(
            digest,
            "approved" if approve else "denied",
            user_id=person.user.user_id,
            at=now,
            auth_time=person.session.auth_time if approve else None,
            grant_id=grant_id,
        )
        if not decided:
            return None
        found = FoundDevice(device, client, user_code)
        await _audit(
            stores, found, person, approve=approve, grant_id=grant_id, at=now, source=source
        )
        return found


async def _audit(
    stores: Stores,
    found: FoundDevice,
    person: Person,
    *,
    approve: bool,
    grant_id: str | None,
    at: float,
    source: str | None,
) -> None:
    device = found.device
    await stores.audit.record(
        AuditEvent(
            event="device.authorized" if approve else "device.denied",
            at=at,
            client_id=found.client.client_id,
            user_id=person.user.user_id,
            actor_type=found.client.kind,
            grant_id=grant_id,
            source=source,
            data={"scope": device.scope, "resources": list(device.resources)},
        )
    )
