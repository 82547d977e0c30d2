"""The Device Authorization Grant (RFC 8628, https://www.rfc-editor.org/rfc/rfc8628), for an
agent without a browser: it shows a short code, the person approves on another device, and the
agent polls the token endpoint meanwhile.

Polling follows §3.5: wait ``interval`` seconds (5 if the server names none) between requests;
``authorization_pending`` means keep waiting; ``slow_down`` adds 5 seconds to the interval for
this and every later request; ``access_denied`` and ``expired_token`` end the flow, as does the
device code's own ``expires_in`` running out. ``sleep`` is injectable so tests do not wait.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from warden.agent._urls import is_secure_endpoint
from warden.agent.errors import DiscoveryError, TokenError
from warden.agent.flow import FlowContext
from warden.agent.registration import AuthMethod
from warden.agent.tokens import TokenSet, post_as_client

__all__ = ["DEVICE_CODE_GRANT", "DeviceAuthorization", "DeviceCodeFlow", "ShowUserCode"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5
SLOW_DOWN_SECONDS = 5


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """What to show the person (RFC 8628 §3.2, §3.3); the device code stays private."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: int
    device_code: str = field(repr=False, compare=False, default="")


ShowUserCode = Callable[[DeviceAuthorization], Awaitable[None]]
"""``async (authorization) -> None``: tell the person where to go and which code to enter."""


@dataclass(frozen=True, slots=True)
class DeviceCodeFlow:
    """RFC 8628 through ``show_user_code``; ``sleep`` waits between polls."""

    show_user_code: ShowUserCode
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    refresh_tokens: bool = True

    @property
    def grant_types(self) -> tuple[str, ...]:
        return (DEVICE_CODE_GRANT, "refresh_token") if self.refresh_tokens else (DEVICE_CODE_GRANT,)

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        return ()

    @property
    def auth_method(self) -> AuthMethod:
        return "none"

    async def authorize(self, ctx: FlowContext) -> TokenSet:
        started = ctx.clock.now()
        authorization = await request_device_authorization(ctx)
        await self.show_user_code(authorization)
        return await self._poll(ctx, authorization, deadline=started + authorization.expires_in)

    async def _poll(
        self, ctx: FlowContext, authorization: DeviceAuthorization, *, deadline: float
    ) -> TokenSet:
        interval = authorization.interval
        form = {
            "grant_type": DEVICE_CODE_GRANT,
            "device_code": authorization.device_code,
            "resource": ctx.resource,
        }
        while True:
            await self.sleep(interval)
            if ctx.clock.now() >= deadline:
                raise TokenError(
                    "The device code expired before it was approved", error="expired_token"
                )
            try:
                return await ctx.request_token(form)
            except TokenError as exc:
                if exc.error == "slow_down":
                    interval += SLOW_DOWN_SECONDS
                elif exc.error != "authorization_pending":
                    raise


async def request_device_authorization(ctx: FlowContext) -> DeviceAuthorization:
    """POST the device authorization request (RFC 8628 §3.1) and read the response (§3.2).

    The request carries ``resource`` like every other authorization request (RFC 8707 §2).
    """
    endpoint = ctx.server.device_authorization_endpoint
    if endpoint is None:
        raise DiscoveryError("The authorization server has no device_authorization_endpoint")
    form = {"resource": ctx.resource}
    if ctx.scope:
        form["scope"] = ctx.scope
    refused = "The device authorization request was refused"
    body = await post_as_client(ctx.http, endpoint, ctx.client, form, refused=refused)
    return _device_authorization(body)


def _device_authorization(body: Mapping[str, Any]) -> DeviceAuthorization:
    device_code, user_code = body.get("device_code"), body.get("user_code")
    uri, complete = body.get("verification_uri"), body.get("verification_uri_complete")
    expires_in, interval = body.get("expires_in"), body.get("interval", DEFAULT_INTERVAL)
    if not isinstance(device_code, str) or not device_code:
        raise TokenError("The device authorization response has no device_code")
    if not isinstance(user_code, str) or not user_code:
        raise TokenError("The device authorization response has no user_code")
    if not is_secure_endpoint(uri):
        raise TokenError("The verification_uri is not an https URL")
    if not _positive_int(expires_in) or not _positive_int(interval):
        raise TokenError("The device authorization response has no valid expires_in/interval")
    assert isinstance(uri, str) and isinstance(expires_in, int) and isinstance(interval, int)
    return DeviceAuthorization(
        user_code=user_code,
        verification_uri=uri,
        verification_uri_complete=complete if is_secure_endpoint(complete) else None,
        expires_in=expires_in,
        interval=interval,
        device_code=device_code,
    )


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
