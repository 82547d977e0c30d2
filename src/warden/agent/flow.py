"""The ways an agent obtains a first access token, behind one small interface.

:class:`~warden.agent.AgentAuth` discovers the servers and settles the client credentials;
a :class:`Flow` then turns them into tokens: the authorization code grant with a person at a
browser, the device authorization grant with a person elsewhere, or client credentials for an
agent acting as itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from warden.agent.discovery import ServerMetadata
from warden.agent.registration import AuthMethod, ClientCredentials
from warden.agent.tokens import TokenSet, request_token
from warden.clock import Clock

__all__ = ["Flow", "FlowContext"]


@dataclass(frozen=True, slots=True)
class FlowContext:
    """Everything a flow needs for one authorization."""

    http: httpx.AsyncClient
    server: ServerMetadata
    client: ClientCredentials
    resource: str
    """The protected resource identifier, sent as RFC 8707 ``resource`` everywhere (C5)."""
    scope: str | None
    clock: Clock

    async def request_token(self, form: Mapping[str, str]) -> TokenSet:
        """POST a token request as this client (RFC 6749 §3.2).

        ``scope`` stands for the granted scope when the server does not echo it (§5.1).
        """
        return await request_token(
            self.http,
            self.server.token_endpoint,
            self.client,
            form,
            now=self.clock.now(),
            requested_scope=self.scope,
        )


class Flow(Protocol):
    """One OAuth grant the agent can run to get tokens."""

    @property
    def grant_types(self) -> tuple[str, ...]:
        """The RFC 7591 ``grant_types`` to register."""
        ...

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        """The RFC 7591 ``redirect_uris`` to register (empty without a redirect)."""
        ...

    @property
    def auth_method(self) -> AuthMethod:
        """The ``token_endpoint_auth_method`` to register."""
        ...

    async def authorize(self, ctx: FlowContext) -> TokenSet:
        """Obtain tokens for ``ctx.resource`` and ``ctx.scope``."""
        ...
