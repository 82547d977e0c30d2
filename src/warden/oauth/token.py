"""The token endpoint (RFC 6749 §3.2, OAuth 2.1 §3.2): dispatch by ``grant_type``.

https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1#section-3.2

Only ``POST`` with a form body reaches here (the route allows nothing else, SEC-39). Warden
supports the OAuth 2.1 grants only: ``password`` and ``implicit`` are ``unsupported_grant_type``
like any unknown value (SEC-29). The client is authenticated with its registered method
(:mod:`warden.oauth.client_auth`) and may use only the grant types it registered
(``unauthorized_client``, RFC 6749 §5.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from warden.clock import Clock
from warden.errors import UnauthorizedClientError, UnsupportedGrantTypeError
from warden.oauth.client_auth import ClientAuthenticator
from warden.oauth.client_metadata import DEVICE_CODE, TOKEN_EXCHANGE
from warden.oauth.grants.authorization_code import exchange_code
from warden.oauth.grants.base import GrantContext, GrantHandler
from warden.oauth.grants.client_credentials import client_credentials
from warden.oauth.grants.device_code import device_code
from warden.oauth.grants.refresh_token import refresh
from warden.oauth.grants.token_exchange import token_exchange
from warden.oauth.introspection import TokenInspector
from warden.oauth.issuance import TokenMinter, TokenResponse
from warden.oauth.ports import Stores
from warden.oauth.requests import OAuthRequest
from warden.oauth.scopes import ScopeCatalogue
from warden.oauth.secrets import SecretHasher
from warden.settings import Settings

__all__ = ["GRANT_HANDLERS", "TokenEndpoint"]

GRANT_HANDLERS: Final[Mapping[str, GrantHandler]] = {
    "authorization_code": exchange_code,
    "refresh_token": refresh,
    "client_credentials": client_credentials,
    DEVICE_CODE: device_code,
    TOKEN_EXCHANGE: token_exchange,
}


class TokenEndpoint:
    """Handles one token request inside a unit of work."""

    def __init__(
        self,
        *,
        authenticator: ClientAuthenticator,
        minter: TokenMinter,
        inspector: TokenInspector,
        settings: Settings,
        scopes: ScopeCatalogue,
        hasher: SecretHasher,
        clock: Clock,
        handlers: Mapping[str, GrantHandler] = GRANT_HANDLERS,
    ) -> None:
        self._authenticator = authenticator
        self._minter = minter
        self._inspector = inspector
        self._settings = settings
        self._scopes = scopes
        self._hasher = hasher
        self._clock = clock
        self._handlers = handlers

    async def handle(self, request: OAuthRequest, stores: Stores) -> TokenResponse:
        """Authenticate the client and run its grant.

        :raises OAuthError: any RFC 6749 §5.2 error, from the checks here or the grant's.
        """
        grant_type = request.form.require("grant_type")
        handler = self._handlers.get(grant_type)
        if handler is None:
            raise UnsupportedGrantTypeError(f"Unsupported grant_type: {grant_type[:64]}")
        client = await self._authenticator.authenticate(
            request, stores, endpoint=self._settings.endpoint("/token")
        )
        if grant_type not in client.grant_types:
            raise UnauthorizedClientError("The client is not registered for this grant_type")
        return await handler(
            GrantContext(
                request=request,
                stores=stores,
                client=client,
                now=self._clock.now(),
                settings=self._settings,
                scopes=self._scopes,
                hasher=self._hasher,
                minter=self._minter,
                inspector=self._inspector,
            )
        )
