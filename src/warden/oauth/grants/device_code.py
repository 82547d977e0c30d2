"""The device code grant at the token endpoint (RFC 8628 §3.4, §3.5).

https://www.rfc-editor.org/rfc/rfc8628#section-3.4

The device polls with its ``device_code`` until the person has decided. The answers, in order:

1. ``invalid_grant``: no such code, or a code issued to another client (SEC-91), or one
   whose tokens were already collected (single use);
2. ``expired_token``: the code outlived ``device.code_ttl_seconds`` (§3.5);
3. ``access_denied``: the person denied it (§3.5);
4. while pending, ``slow_down`` if this poll came sooner than ``interval`` after the last
   one, which also adds 5 seconds to the interval for good (§3.5), else
   ``authorization_pending``;
5. approved: the code is consumed by one compare-and-set (of concurrent polls exactly one
   gets tokens) and the grant is created, as a redeemed authorization code creates one, with
   the approving person as ``sub``.
"""

from __future__ import annotations

from typing import Final, NoReturn

from warden.errors import (
    AccessDeniedError,
    AuthorizationPendingError,
    ExpiredTokenError,
    InvalidGrantError,
    SlowDownError,
)
from warden.oauth.client_metadata import DEVICE_CODE
from warden.oauth.grants.base import GrantContext, issue, narrowed, start_grant
from warden.oauth.issuance import TokenResponse
from warden.oauth.model import DeviceAuthorization

__all__ = ["SLOW_DOWN_SECONDS", "device_code"]

SLOW_DOWN_SECONDS: Final = 5
"""What ``slow_down`` adds to the polling interval (RFC 8628 §3.5)."""


async def device_code(ctx: GrantContext) -> TokenResponse:
    """Answer one poll of the device: an error that says what to do next, or tokens."""
    device = await ctx.stores.devices.get(ctx.hasher.digest(ctx.form.require("device_code")))
    if device is None or device.client_id != ctx.client.client_id:
        raise InvalidGrantError("The device code is invalid")
    if device.status == "consumed":
        raise InvalidGrantError("The device code has already been used")
    if device.is_expired(ctx.now):
        raise ExpiredTokenError("The device code has expired; start again")
    if device.status == "denied":
        raise AccessDeniedError("The user denied the request")
    if device.status == "pending":
        await _pending(ctx, device)
    return await _issue(ctx, device)


async def _pending(ctx: GrantContext, device: DeviceAuthorization) -> NoReturn:
    """Step 4: keep polling, perhaps more slowly."""
    on_time = await ctx.stores.devices.poll(
        device.device_code_hash, ctx.now, slow_down_by=SLOW_DOWN_SECONDS
    )
    if not on_time:
        wait = device.interval + SLOW_DOWN_SECONDS
        raise SlowDownError(f"Polling too fast; wait {wait} seconds between requests")
    raise AuthorizationPendingError("The user has not yet approved the request")


async def _issue(ctx: GrantContext, device: DeviceAuthorization) -> TokenResponse:
    """Step 5: the approved code becomes a grant and tokens, once."""
    scope, audience = await narrowed(ctx, scope=device.scope, resources=device.resources)
    user_id, grant_id = device.user_id, device.grant_id
    if user_id is None or grant_id is None or await ctx.stores.users.get(user_id) is None:
        raise InvalidGrantError("The device code is invalid", detail="approver is gone")
    if not await ctx.stores.devices.consume(device.device_code_hash, ctx.now):
        raise InvalidGrantError("The device code has already been used")
    grant = await start_grant(
        ctx,
        grant_id=grant_id,
        user_id=user_id,
        kind="device_code",
        scope=device.scope,
        resources=device.resources,
        auth_time=device.auth_time,
    )
    return await issue(ctx, grant, scope=scope, audience=audience, grant_type=DEVICE_CODE)
