"""The agent side: an ``httpx.Auth`` that takes an agent from a 401 to a working token.

Usable on its own against any MCP-conformant resource and authorization server; it imports
nothing of Warden's authorization server. See :class:`AgentAuth` for what it does and
:mod:`warden.agent.auth` for the rules it follows.
"""

from warden.agent.auth import AgentAuth
from warden.agent.authorization_code import AuthorizationCodeFlow, OpenAuthorizationUrl
from warden.agent.challenge import BearerChallenge, bearer_challenge
from warden.agent.client_credentials import ClientCredentialsFlow
from warden.agent.device import DeviceAuthorization, DeviceCodeFlow, ShowUserCode
from warden.agent.discovery import Discovery, ResourceMetadata, ServerMetadata, discover
from warden.agent.errors import (
    AgentAuthError,
    AuthorizationError,
    DiscoveryError,
    RegistrationError,
    TokenError,
)
from warden.agent.flow import Flow, FlowContext
from warden.agent.registration import AgentProfile, ClientCredentials
from warden.agent.storage import FileTokenStorage, MemoryTokenStorage, TokenStorage
from warden.agent.tokens import TokenSet

__all__ = [
    "AgentAuth",
    "AgentAuthError",
    "AgentProfile",
    "AuthorizationCodeFlow",
    "AuthorizationError",
    "BearerChallenge",
    "ClientCredentials",
    "ClientCredentialsFlow",
    "DeviceAuthorization",
    "DeviceCodeFlow",
    "Discovery",
    "DiscoveryError",
    "FileTokenStorage",
    "Flow",
    "FlowContext",
    "MemoryTokenStorage",
    "OpenAuthorizationUrl",
    "RegistrationError",
    "ResourceMetadata",
    "ServerMetadata",
    "ShowUserCode",
    "TokenError",
    "TokenSet",
    "TokenStorage",
    "bearer_challenge",
    "discover",
]
