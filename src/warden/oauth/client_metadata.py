"""Client metadata validation shared by registration and metadata documents.

RFC 7591 §2 (OAuth 2.0 Dynamic Client Registration Protocol,
https://www.rfc-editor.org/rfc/rfc7591#section-2) defines the fields; RFC 7591 §5 and OAuth 2.1
§7.9 say they are self-asserted. Dynamic registration (RFC 7591), Client ID Metadata Documents
and ``warden clients add`` all run the same checks, so no door is softer than another.

Security-relevant fields are strict and fail with ``invalid_redirect_uri`` or
``invalid_client_metadata``: ``redirect_uris``, ``token_endpoint_auth_method``,
``grant_types``, ``response_types``, ``application_type``, ``scope``, ``jwks``/``jwks_uri``,
``client_name`` and Warden's ``client_kind``. Display URLs that break the policy are dropped
rather than refused (SEC-43), and unknown fields are ignored and never echoed, because
metadata documents in the wild carry all sorts of extras.

Warden's one extension is ``client_kind``: ``"agent"`` (an AI agent, the default for
self-registered clients), ``"app"`` (an application a person drives) or ``"service"`` (a
backend acting as itself). Self-asserted metadata may not claim to be anything but an agent;
pre-registered clients and trusted software statements may.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

from warden.errors import (
    InvalidClientMetadataError,
    InvalidRedirectUriError,
    InvalidScopeError,
)
from warden.oauth.model import Client, ClientKind, ClientOrigin
from warden.oauth.redirect_uris import validate_redirect_uri
from warden.oauth.scopes import ScopeCatalogue, format_scope, parse_scope

__all__ = [
    "AUTH_METHODS",
    "CLIENT_KINDS",
    "DISPLAY_URL_FIELDS",
    "GRANT_TYPES",
    "MAX_CLIENT_NAME_LENGTH",
    "ClientMetadata",
    "MetadataPolicy",
    "parse_client_metadata",
    "trust_changed",
]

AUTH_METHODS = frozenset({"none", "client_secret_basic", "client_secret_post", "private_key_jwt"})
"""RFC 7591 §2 ``token_endpoint_auth_method`` values Warden implements (SEC-45)."""

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_TYPES = frozenset(
    {"authorization_code", "refresh_token", "client_credentials", DEVICE_CODE, TOKEN_EXCHANGE}
)
"""Grant types a client may register; never ``password`` or ``implicit`` (SEC-29, SEC-45)."""

RESPONSE_TYPES = frozenset({"code"})
APPLICATION_TYPES = frozenset({"web", "native"})
CLIENT_KINDS: frozenset[ClientKind] = frozenset({"agent", "app", "service"})
DISPLAY_URL_FIELDS = ("client_uri", "logo_uri", "policy_uri", "tos_uri")
MAX_CLIENT_NAME_LENGTH = 100
MAX_SHORT_STRING = 255
MAX_CONTACTS = 10
MAX_KEYS = 10
# Control, format (bidi overrides, zero-width), separator, private-use, surrogate, unassigned.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
# RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2: members only a private key has.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# Grants that return a refresh token; registering refresh_token alone makes no sense.
_ISSUES_REFRESH_TOKENS = frozenset({"authorization_code", DEVICE_CODE, TOKEN_EXCHANGE})


@dataclass(frozen=True, slots=True)
class MetadataPolicy:
    """What a given registration path lets a client register."""

    origin: ClientOrigin
    scopes: ScopeCatalogue
    max_redirect_uris: int = 10
    default_scope: str | None = None
    """Scope given to a client that asks for none; None means no per-client scope list."""
    auth_methods: frozenset[str] = AUTH_METHODS
    allowed_kinds: frozenset[ClientKind] = frozenset({"agent"})
    default_kind: ClientKind = "agent"
    display_hosts: frozenset[str] = frozenset()
    """Hosts besides the redirect URI hosts that display URLs may use (a CIMD client_id's)."""
    check_jwks_uri: Callable[[str], None] | None = None
    """Raises ValueError for a ``jwks_uri`` Warden will not fetch (the SSRF shape check of
    SEC-60). Without one, ``jwks_uri`` is refused."""


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """Validated metadata: the registered values (RFC 7591 §3.2.1 echoes them back)."""

    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    application_type: str
    scope: str | None
    kind: ClientKind
    extra: Mapping[str, Any] = field(default_factory=dict)
    """``client_name``, display URLs, ``contacts``, ``software_*``, ``publisher``,
    ``jwks``/``jwks_uri``."""

    def to_dict(self) -> dict[str, Any]:
        """The metadata as registered, for the registration response."""
        data: dict[str, Any] = {
            "redirect_uris": list(self.redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "application_type": self.application_type,
            "client_kind": self.kind,
            **self.extra,
        }
        if self.scope is not None:
            data["scope"] = self.scope
        return data


def parse_client_metadata(data: Mapping[str, Any], policy: MetadataPolicy) -> ClientMetadata:
    """Validate RFC 7591 §2 client metadata under ``policy``.

    :raises InvalidRedirectUriError: a redirect URI is not acceptable.
    :raises InvalidClientMetadataError: any other field is invalid.
    """
    if not isinstance(data, Mapping):
        raise InvalidClientMetadataError("Client metadata must be a JSON object")
    application_type = _application_type(data)
    auth_method = _auth_method(data, policy)
    grant_types, response_types = _grant_and_response_types(data, auth_method)
    redirect_uris = _redirect_uris(data, application_type, grant_types, policy)
    kind = _kind(data, policy)
    extra = {
        **_client_name(data),
        **_display_urls(data, redirect_uris, policy),
        **_informational(data),
        **_keys(data, auth_method, policy),
    }
    return ClientMetadata(
        redirect_uris=redirect_uris,
        token_endpoint_auth_method=auth_method,
        grant_types=grant_types,
        response_types=response_types,
        application_type=application_type,
        scope=_scope(data, kind, policy),
        kind=kind,
        extra=extra,
    )


def _string(data: Mapping[str, Any], name: str, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is None or isinstance(value, str):
        return value
    raise InvalidClientMetadataError(f"{name} must be a string")


def _string_list(data: Mapping[str, Any], name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadataError(f"{name} must be an array of strings")
    return cast(list[str], value)


def _application_type(data: Mapping[str, Any]) -> str:
    """OIDC Registration §2 / MCP 2026-07-28: ``web`` (default) or ``native``."""
    value = _string(data, "application_type", "web")
    if value not in APPLICATION_TYPES:
        raise InvalidClientMetadataError("application_type must be web or native")
    return value


def _auth_method(data: Mapping[str, Any], policy: MetadataPolicy) -> str:
    """RFC 7591 §2: defaults to ``client_secret_basic``; allow-listed (SEC-45)."""
    value = _string(data, "token_endpoint_auth_method", "client_secret_basic")
    if value not in policy.auth_methods:
        allowed = ", ".join(sorted(policy.auth_methods))
        raise InvalidClientMetadataError(f"token_endpoint_auth_method must be one of {allowed}")
    return value


def _grant_and_response_types(
    data: Mapping[str, Any], auth_method: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """RFC 7591 §2.1: grant and response types must agree; SEC-29: client_credentials."""
    grants = _string_list(data, "grant_types")
    grant_types = tuple(dict.fromkeys(grants if grants is not None else ["authorization_code"]))
    if not grant_types or not set(grant_types) <= GRANT_TYPES:
        raise InvalidClientMetadataError("grant_types has an unsupported grant type")
    responses = _string_list(data, "response_types")
    if responses is None:
        responses = ["code"] if "authorization_code" in grant_types else []
    response_types = tuple(dict.fromkeys(responses))
    if not set(response_types) <= RESPONSE_TYPES:
        raise InvalidClientMetadataError("response_types may only contain code")
    if ("code" in response_types) != ("authorization_code" in grant_types):
        raise InvalidClientMetadataError(
            "response_type code and grant type authorization_code go together"
        )
    if "refresh_token" in grant_types and not _ISSUES_REFRESH_TOKENS & set(grant_types):
        raise InvalidClientMetadataError("refresh_token needs a grant that issues refresh tokens")
    if "client_credentials" in grant_types and auth_method == "none":
        raise InvalidClientMetadataError("client_credentials needs an authenticated client")
    return grant_types, response_types


def _redirect_uris(
    data: Mapping[str, Any],
    application_type: str,
    grant_types: Sequence[str],
    policy: MetadataPolicy,
) -> tuple[str, ...]:
    """RFC 7591 §2: required for redirect-based grants; each one checked (SEC-42, SEC-47)."""
    value = data.get("redirect_uris")
    if value is not None and not (
        isinstance(value, list) and all(isinstance(u, str) for u in value)
    ):
        raise InvalidRedirectUriError("redirect_uris must be an array of strings")
    uris = list(dict.fromkeys(value or []))
    if "authorization_code" in grant_types and not uris:
        raise InvalidRedirectUriError("redirect_uris is required for authorization_code")
    if len(uris) > policy.max_redirect_uris:
        raise InvalidClientMetadataError(
            f"At most {policy.max_redirect_uris} redirect URIs may be registered"
        )
    return tuple(validate_redirect_uri(u, application_type=application_type) for u in uris)


def _kind(data: Mapping[str, Any], policy: MetadataPolicy) -> ClientKind:
    value = _string(data, "client_kind", policy.default_kind)
    if value not in CLIENT_KINDS:
        raise InvalidClientMetadataError("client_kind must be agent, app or service")
    if value not in policy.allowed_kinds:
        raise InvalidClientMetadataError(f"client_kind {value} needs a pre-registered client")
    return value


def _scope(data: Mapping[str, Any], kind: ClientKind, policy: MetadataPolicy) -> str | None:
    """The scopes the client may ask for, capped by the catalogue's policy (SEC-46)."""
    value = _string(data, "scope") or policy.default_scope or None
    if value is None:
        return None
    try:
        scopes = parse_scope(value)
        policy.scopes.check_allowed(scopes, kind=kind, origin=policy.origin)
    except InvalidScopeError as exc:
        raise InvalidClientMetadataError(exc.description) from None
    return format_scope(scopes)


def _client_name(data: Mapping[str, Any]) -> dict[str, str]:
    """SEC-43: a bounded, printable name, without control or bidi-override characters."""
    name = _string(data, "client_name")
    if name is None:
        return {}
    if not name.strip() or len(name) > MAX_CLIENT_NAME_LENGTH:
        raise InvalidClientMetadataError(
            f"client_name must be 1 to {MAX_CLIENT_NAME_LENGTH} characters"
        )
    if not _printable(name):
        raise InvalidClientMetadataError("client_name contains control or formatting characters")
    return {"client_name": name}


def _printable(text: str) -> bool:
    return not any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in text)


def _display_urls(
    data: Mapping[str, Any], redirect_uris: Sequence[str], policy: MetadataPolicy
) -> dict[str, str]:
    """SEC-43: https URLs on a redirect URI's host (or a trusted host); others are dropped."""
    hosts = {urlsplit(u).hostname for u in redirect_uris} | policy.display_hosts
    kept = {}
    for name in DISPLAY_URL_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and _is_https_url_on(value, hosts):
            kept[name] = value
    return kept


def _is_https_url_on(url: str, hosts: set[str | None]) -> bool:
    try:
        validate_redirect_uri(url, application_type="web")
    except InvalidRedirectUriError:
        return False
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname in hosts


def _informational(data: Mapping[str, Any]) -> dict[str, Any]:
    """``contacts``, ``software_id``, ``software_version`` and Warden's ``publisher`` (the
    publisher's name, shown only for verified clients: :mod:`warden.oauth.principals`):
    typed, bounded, printable."""
    kept: dict[str, Any] = {}
    for name in ("software_id", "software_version", "publisher"):
        value = _string(data, name)
        if value is not None:
            if not value or len(value) > MAX_SHORT_STRING or not _printable(value):
                raise InvalidClientMetadataError(f"{name} must be 1 to 255 printable characters")
            kept[name] = value
    contacts = _string_list(data, "contacts")
    if contacts is not None:
        if len(contacts) > MAX_CONTACTS or not all(
            0 < len(c) <= MAX_SHORT_STRING and _printable(c) for c in contacts
        ):
            raise InvalidClientMetadataError("contacts must be at most 10 short strings")
        kept["contacts"] = contacts
    return kept


def _keys(data: Mapping[str, Any], auth_method: str, policy: MetadataPolicy) -> dict[str, Any]:
    """RFC 7591 §2: ``jwks`` or ``jwks_uri``, never both; public asymmetric keys only."""
    jwks, jwks_uri = data.get("jwks"), data.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadataError("jwks and jwks_uri must not both be present")
    if jwks is not None:
        return {"jwks": _public_key_set(jwks)}
    if jwks_uri is not None:
        return {"jwks_uri": _checked_jwks_uri(jwks_uri, policy)}
    if auth_method == "private_key_jwt":
        raise InvalidClientMetadataError("private_key_jwt needs jwks or jwks_uri")
    return {}


def _public_key_set(jwks: Any) -> dict[str, Any]:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_KEYS:
        raise InvalidClientMetadataError(f"jwks must hold 1 to {MAX_KEYS} keys")
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("EC", "OKP", "RSA"):
            raise InvalidClientMetadataError("jwks must hold only asymmetric keys")
        if _PRIVATE_MEMBERS & key.keys():
            raise InvalidClientMetadataError("jwks must hold only public keys")
    try:
        with warnings.catch_warnings():
            # joserfc warns about weak keys (short RSA moduli); Warden refuses them.
            warnings.simplefilter("error", SecurityWarning)
            KeySet.import_key_set(cast(Any, {"keys": keys}))
    except Exception:  # an untrusted key set may break the parser in any way: it is invalid
        raise InvalidClientMetadataError("jwks is not a valid JWK Set") from None
    return {"keys": keys}


def _checked_jwks_uri(value: Any, policy: MetadataPolicy) -> str:
    if not isinstance(value, str):
        raise InvalidClientMetadataError("jwks_uri must be a string")
    if policy.check_jwks_uri is None:
        raise InvalidClientMetadataError("jwks_uri is not supported; register jwks instead")
    try:
        policy.check_jwks_uri(value)
    except ValueError as exc:
        raise InvalidClientMetadataError(f"jwks_uri is not acceptable: {exc}") from None
    return value


def trust_changed(old: Client, new: Client) -> bool:
    """True if what a person consented to no longer holds: where codes go or how the client
    proves itself (redirect URIs, auth method, keys). Consent is then asked again (SEC-51,
    CIMD §6.3, SEC-62)."""
    return (
        set(old.redirect_uris) != set(new.redirect_uris)
        or old.token_endpoint_auth_method != new.token_endpoint_auth_method
        or any(old.metadata.get(k) != new.metadata.get(k) for k in ("jwks", "jwks_uri"))
    )
