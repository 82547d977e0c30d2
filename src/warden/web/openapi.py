"""The OpenAPI 3.1 description of Warden's machine-facing endpoints, written as data.

Served at ``<issuer>/openapi.json`` and used by the fuzz tests (schemathesis), so the status
codes and bodies here are the ones the endpoints really answer with. The browser pages
(login, consent, logout) are left out: they are HTML forms guarded by CSRF tokens, not an API.

Paths are written from the origin's root, with the issuer's path in them, because the
discovery documents live outside the issuer's path (RFC 8414 §3.1).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from warden.oauth.client_metadata import DEVICE_CODE, TOKEN_EXCHANGE
from warden.oauth.exchange import ACCESS_TOKEN_TYPE
from warden.settings import Settings

__all__ = ["openapi_document"]

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
HTML = "text/html"

Schema = dict[str, Any]


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The whole document for this issuer."""
    parts = urlsplit(settings.issuer)
    prefix = settings.issuer_path
    paths: dict[str, Any] = {
        f"/.well-known/oauth-authorization-server{prefix}": _discovery(
            "Authorization server metadata (RFC 8414 §3)", "oauth_metadata"
        ),
        f"/.well-known/openid-configuration{prefix}": _discovery(
            "OIDC Discovery, path inserted as in RFC 8414 §3.1", "openid_configuration"
        ),
    }
    if prefix:
        paths[f"{prefix}/.well-known/openid-configuration"] = _discovery(
            "OIDC Discovery §4, under the issuer's path", "openid_configuration_suffixed"
        )
    paths.update(
        {
            f"{prefix}/jwks.json": _jwks(),
            f"{prefix}/authorize": _authorize(),
            f"{prefix}/token": _token(),
            f"{prefix}/device_authorization": _device_authorization(),
            f"{prefix}/introspect": _introspect(),
            f"{prefix}/revoke": _revoke(),
            f"{prefix}/register": _register(),
            f"{prefix}/register/{{client_id}}": _manage_registration(),
            f"{prefix}/healthz": _healthz(),
            f"{prefix}/openapi.json": _openapi(),
            f"{prefix}/account/api/connections": _account_connections(),
            f"{prefix}/account/api/connections/{{client_id}}": _account_connection(),
        }
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Warden",
            "version": "0.1.0",
            "description": "OAuth 2.1 authorization server for AI agents and MCP servers.",
        },
        "servers": [{"url": f"{parts.scheme}://{parts.netloc}"}],
        "paths": paths,
        "components": {"schemas": _SCHEMAS, "securitySchemes": _SECURITY_SCHEMES},
    }


# --- building blocks -------------------------------------------------------------------


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: Schema, headers: Schema | None = None) -> Schema:
    response: Schema = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str, codes: list[str] | None = None) -> Schema:
    """An RFC 6749 §5.2 error body; ``codes`` lists the ``error`` values this status carries."""
    schema = _ref("Error")
    if codes:
        schema = {"allOf": [schema, {"properties": {"error": {"enum": codes}}}]}
    return _json(description, schema)


_RATE_LIMITED = _json(
    "Too many requests from this source or for this client (RFC 6585 §4).",
    _ref("Error"),
    headers={"Retry-After": {"schema": {"type": "string"}, "required": True}},
)
_CLIENT_AUTH: list[Schema] = [{}, {"clientSecretBasic": []}]
"""Client authentication: none for public clients, Basic, or credentials in the form."""

_CLIENT_FORM_FIELDS: Schema = {
    "client_id": {"type": "string"},
    "client_secret": {"type": "string", "description": "client_secret_post (RFC 6749 §2.3.1)"},
    "client_assertion_type": {
        "type": "string",
        "description": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer (RFC 7523)",
    },
    "client_assertion": {"type": "string", "description": "private_key_jwt (RFC 7523 §2.2)"},
}


def _form_body(properties: Schema, required: list[str]) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {FORM: {"schema": schema}}}


# --- path items ------------------------------------------------------------------------


def _discovery(summary: str, operation_id: str) -> Schema:
    return {
        "get": {
            "summary": summary,
            "operationId": operation_id,
            "responses": {"200": _json("The discovery document.", _ref("ServerMetadata"))},
        }
    }


def _jwks() -> Schema:
    return {
        "get": {
            "summary": "The public signing keys (RFC 7517 §5)",
            "operationId": "get_jwks",
            "responses": {
                "200": {
                    "description": "Every key that still verifies tokens.",
                    "content": {"application/jwk-set+json": {"schema": _ref("JwkSet")}},
                }
            },
        }
    }


_AUTHORIZE_FIELDS: list[tuple[str, str, bool]] = [
    ("response_type", "Always `code`.", True),
    ("client_id", "Registered id or a metadata-document URL.", True),
    ("redirect_uri", "An exactly registered redirect URI.", False),
    ("code_challenge", "BASE64URL(SHA256(code_verifier)).", True),
    ("code_challenge_method", "Always `S256`.", True),
    ("state", "Opaque value returned to the client.", False),
    ("scope", "Space-separated scopes (RFC 6749 §3.3).", False),
    ("prompt", "`none`, `login` or `consent`.", False),
]
_RESOURCES: Schema = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Target resource (RFC 8707).",
}


def _authorize() -> Schema:
    """GET with a query, or POST with the same parameters as a form (OAuth 2.1 §4.1.1)."""
    query = [
        {"name": n, "in": "query", "required": r, "description": d, "schema": {"type": "string"}}
        for n, d, r in _AUTHORIZE_FIELDS
    ]
    query.append({"name": "resource", "in": "query", "schema": _RESOURCES, "explode": True})
    fields = {n: {"type": "string", "description": d} for n, d, _ in _AUTHORIZE_FIELDS}
    required = [n for n, _, r in _AUTHORIZE_FIELDS if r]
    common = {
        "summary": "Authorization endpoint (OAuth 2.1 §4.1.1, PKCE S256 only)",
        "responses": _AUTHORIZE_RESPONSES,
    }
    return {
        "get": {**common, "operationId": "authorize", "parameters": query},
        "post": {
            **common,
            "operationId": "authorize_post",
            "requestBody": _form_body({**fields, "resource": _RESOURCES}, required),
        },
    }


def _redirect(description: str) -> Schema:
    location = {"schema": {"type": "string"}, "required": True}
    return {"description": description, "headers": {"Location": location}}


_AUTHORIZE_RESPONSES: Schema = {
    "200": {"description": "The sign-in or consent page.", "content": {HTML: {}}},
    "302": _redirect("To the client with `code` or `error`, `state` and `iss` (RFC 9207)."),
    "303": _redirect("The same, after a POST (OAuth 2.1 §7.5.3)."),
    "400": {
        "description": "A request that cannot be trusted to redirect (unknown client or "
        "redirect URI, malformed request): shown to the person, never redirected.",
        "content": {HTML: {}},
    },
    "429": {"description": "Too many requests.", "content": {HTML: {}}},
    "503": {"description": "Temporarily unavailable.", "content": {HTML: {}}},
}


_EXCHANGED_TYPE: Schema = {"type": "string", "enum": [ACCESS_TOKEN_TYPE]}
_TOKEN_EXCHANGE_FIELDS: Schema = {
    "subject_token": {"type": "string", "description": "token exchange (RFC 8693 §2.1)"},
    "subject_token_type": {
        **_EXCHANGED_TYPE,
        "description": "token exchange: a Warden access token",
    },
    "actor_token": {"type": "string", "description": "token exchange: the client's own token"},
    "actor_token_type": {**_EXCHANGED_TYPE, "description": "token exchange, with actor_token"},
    "requested_token_type": _EXCHANGED_TYPE,
    "audience": {
        "type": "array",
        "items": {"type": "string"},
        "description": "token exchange: target resource URI, like resource (one per token)",
    },
}
"""RFC 8693 §2.1 request parameters."""


def _token() -> Schema:
    fields: Schema = {
        "grant_type": {
            "type": "string",
            "enum": [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                DEVICE_CODE,
                TOKEN_EXCHANGE,
            ],
        },
        "code": {"type": "string", "description": "authorization_code"},
        "redirect_uri": {"type": "string", "description": "authorization_code"},
        "code_verifier": {"type": "string", "description": "authorization_code (RFC 7636)"},
        "refresh_token": {"type": "string", "description": "refresh_token"},
        "device_code": {"type": "string", "description": "device_code (RFC 8628 §3.4)"},
        "scope": {
            "type": "string",
            "description": "refresh_token, client_credentials, token exchange",
        },
        "resource": {
            "type": "array",
            "items": {"type": "string"},
            "description": "RFC 8707 target resources",
        },
        **_TOKEN_EXCHANGE_FIELDS,
        **_CLIENT_FORM_FIELDS,
    }
    return {
        "post": {
            "summary": "Token endpoint (OAuth 2.1 §3.2)",
            "operationId": "token",
            "security": _CLIENT_AUTH,
            "requestBody": {
                **_form_body(fields, ["grant_type"]),
                "description": "Fields per grant type: authorization_code needs code, "
                "redirect_uri and code_verifier; refresh_token needs refresh_token; token "
                "exchange needs subject_token and subject_token_type.",
            },
            "responses": {
                "200": _json("Tokens (RFC 6749 §5.1).", _ref("TokenResponse")),
                "400": _error("RFC 6749 §5.2 error."),
                "401": _error("Client authentication failed.", ["invalid_client"]),
                "429": _RATE_LIMITED,
            },
        }
    }


_SCOPE_PATTERN = r"^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$"
"""RFC 6749 §3.3 ``scope`` syntax."""


def _device_authorization() -> Schema:
    fields: Schema = {
        "scope": {
            "type": "string",
            "pattern": _SCOPE_PATTERN,
            "description": "Space-separated scopes (RFC 6749 §3.3).",
        },
        "resource": _RESOURCES,
        **_CLIENT_FORM_FIELDS,
    }
    return {
        "post": {
            "summary": "Device authorization endpoint (RFC 8628 §3.1)",
            "operationId": "device_authorization",
            "security": _CLIENT_AUTH,
            "requestBody": _form_body(fields, []),
            "responses": {
                "200": _json(
                    "A device code and a user code (RFC 8628 §3.2).",
                    _ref("DeviceAuthorizationResponse"),
                ),
                "400": _error("RFC 6749 §5.2 error (RFC 8628 §3.2)."),
                "401": _error("Client authentication failed.", ["invalid_client"]),
                "429": _RATE_LIMITED,
                "503": _error("No user code could be drawn.", ["temporarily_unavailable"]),
            },
        }
    }


def _introspect() -> Schema:
    fields = {
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
        **_CLIENT_FORM_FIELDS,
    }
    return {
        "post": {
            "summary": "Token introspection (RFC 7662), for authenticated clients",
            "operationId": "introspect",
            "security": _CLIENT_AUTH,
            "requestBody": _form_body(fields, ["token"]),
            "responses": {
                "200": _json("The token's state (RFC 7662 §2.2).", _ref("Introspection")),
                "400": _error("Malformed request."),
                "401": _error("Client authentication failed.", ["invalid_client"]),
                "429": _RATE_LIMITED,
            },
        }
    }


def _revoke() -> Schema:
    fields = {
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
        **_CLIENT_FORM_FIELDS,
    }
    return {
        "post": {
            "summary": "Token revocation (RFC 7009)",
            "operationId": "revoke",
            "security": _CLIENT_AUTH,
            "requestBody": _form_body(fields, ["token"]),
            "responses": {
                "200": {"description": "Revoked, or the token was already invalid (§2.2)."},
                "400": _error("Malformed request."),
                "401": _error("Client authentication failed.", ["invalid_client"]),
                "429": _RATE_LIMITED,
            },
        }
    }


_ACCOUNT_AUTH_ERRORS: Schema = {
    "401": _json(
        "No bearer token, or one that is invalid, expired, revoked or for another resource "
        "(RFC 6750 §3.1).",
        _ref("Error"),
        headers={"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    ),
    "403": _json(
        "The token lacks the scope account:connections, or an agent holds it for the person "
        "(RFC 6750 §3.1 insufficient_scope).",
        _ref("Error"),
        headers={"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
    ),
}


def _account_connections() -> Schema:
    return {
        "get": {
            "summary": "The agents and apps acting for the token's person (OAuth 2.1 §7.9)",
            "operationId": "list_connections",
            "security": [{"accountAccessToken": []}],
            "responses": {
                "200": _json("Most recently used first.", _ref("Connections")),
                **_ACCOUNT_AUTH_ERRORS,
            },
        }
    }


def _account_connection() -> Schema:
    client_id = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "delete": {
            "summary": "Revoke every grant a client holds for the token's person, and its consent",
            "operationId": "revoke_connection",
            "security": [{"accountAccessToken": []}],
            "parameters": [client_id],
            "responses": {
                "204": {
                    "description": "The client no longer acts for the person (also when it "
                    "did not before): its refresh tokens fail and introspection calls its "
                    "access tokens inactive at once."
                },
                **_ACCOUNT_AUTH_ERRORS,
            },
        }
    }


_REGISTRATION_ERRORS = [
    "invalid_request",
    "invalid_redirect_uri",
    "invalid_client_metadata",
    "invalid_software_statement",
    "unapproved_software_statement",
]


def _register() -> Schema:
    return {
        "post": {
            "summary": "Dynamic client registration (RFC 7591 §3)",
            "operationId": "register",
            "security": [{}, {"initialAccessToken": []}],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": _ref("ClientMetadata")}},
            },
            "responses": {
                "201": _json("The registered client (RFC 7591 §3.2.1).", _ref("ClientInfo")),
                "400": _error("Invalid metadata (RFC 7591 §3.2.2).", _REGISTRATION_ERRORS),
                "401": _error("A valid initial access token is required.", ["invalid_token"]),
                "429": _RATE_LIMITED,
            },
        }
    }


def _manage_registration() -> Schema:
    client_id = {"name": "client_id", "in": "path", "required": True, "schema": {"type": "string"}}
    unauthorized = _error(
        "Missing, wrong or expired registration access token, or no such client "
        "(RFC 7592 §2.1: the two are not told apart).",
        ["invalid_token"],
    )
    common = {"security": [{"registrationAccessToken": []}], "parameters": [client_id]}
    return {
        "get": {
            **common,
            "summary": "Read a registration (RFC 7592 §2.1)",
            "operationId": "read_registration",
            "responses": {
                "200": _json("The client's current metadata.", _ref("ClientInfo")),
                "401": unauthorized,
            },
        },
        "put": {
            **common,
            "summary": "Replace a registration (RFC 7592 §2.2); rotates the access token",
            "operationId": "update_registration",
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": _ref("ClientMetadata")}},
            },
            "responses": {
                "200": _json("The updated client.", _ref("ClientInfo")),
                "400": _error("Invalid metadata.", _REGISTRATION_ERRORS),
                "401": unauthorized,
            },
        },
        "delete": {
            **common,
            "summary": "Delete a registration (RFC 7592 §2.3)",
            "operationId": "delete_registration",
            "responses": {"204": {"description": "Deleted."}, "401": unauthorized},
        },
    }


def _healthz() -> Schema:
    status = {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": ["ok", "unavailable"]}},
    }
    return {
        "get": {
            "summary": "Liveness and database reachability",
            "operationId": "healthz",
            "responses": {
                "200": _json("Serving, and the database answers.", status),
                "503": _json("The database does not answer.", status),
            },
        }
    }


def _openapi() -> Schema:
    return {
        "get": {
            "summary": "This document",
            "operationId": "openapi",
            "responses": {"200": _json("OpenAPI 3.1 document.", {"type": "object"})},
        }
    }


# --- components ------------------------------------------------------------------------

_STRINGS: Schema = {"type": "array", "items": {"type": "string"}}

_SCHEMAS: dict[str, Schema] = {
    "Connections": {
        "type": "object",
        "required": ["connections"],
        "properties": {
            "connections": {"type": "array", "items": {"$ref": "#/components/schemas/Connection"}}
        },
    },
    "Connection": {
        "type": "object",
        "required": [
            "client_id",
            "client_name",
            "client_kind",
            "verified",
            "scopes",
            "resources",
            "granted_at",
            "last_used_at",
        ],
        "properties": {
            "client_id": {"type": "string"},
            "client_name": {"type": "string"},
            "client_kind": {"type": "string", "enum": ["agent", "app", "service"]},
            "verified": {
                "type": "boolean",
                "description": "Registered by an administrator or with a trusted software "
                "statement; otherwise everything it says of itself is self-asserted.",
            },
            "publisher": {"type": ["string", "null"]},
            "software_id": {"type": ["string", "null"]},
            "software_version": {"type": ["string", "null"]},
            "scopes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["scope", "description", "sensitivity"],
                    "properties": {
                        "scope": {"type": "string"},
                        "description": {"type": "string"},
                        "sensitivity": {"type": "string", "enum": ["low", "medium", "high"]},
                    },
                },
            },
            "resources": {"type": "array", "items": {"type": "string"}},
            "granted_at": {"type": "integer", "description": "Seconds since the epoch."},
            "last_used_at": {"type": ["integer", "null"]},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "error_description": {"type": "string"},
            "error_uri": {"type": "string"},
        },
    },
    "ServerMetadata": {
        "type": "object",
        "required": [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "response_types_supported",
            "code_challenge_methods_supported",
        ],
        "properties": {
            "issuer": {"type": "string"},
            "authorization_endpoint": {"type": "string"},
            "token_endpoint": {"type": "string"},
            "jwks_uri": {"type": "string"},
            "registration_endpoint": {"type": "string"},
            "device_authorization_endpoint": {"type": "string"},
            "scopes_supported": _STRINGS,
            "response_types_supported": _STRINGS,
            "grant_types_supported": _STRINGS,
            "code_challenge_methods_supported": _STRINGS,
            "authorization_response_iss_parameter_supported": {"type": "boolean"},
            "client_id_metadata_document_supported": {"type": "boolean"},
        },
    },
    "JwkSet": {
        "type": "object",
        "required": ["keys"],
        "properties": {
            "keys": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kty", "kid"],
                    "properties": {
                        "kty": {"type": "string"},
                        "kid": {"type": "string"},
                        "alg": {"type": "string"},
                        "use": {"type": "string"},
                    },
                },
            }
        },
    },
    "TokenResponse": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in"],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string"},
            "scope": {"type": "string"},
            "issued_token_type": {"type": "string", "description": "token exchange (RFC 8693)"},
        },
    },
    "DeviceAuthorizationResponse": {
        "type": "object",
        "required": [
            "device_code",
            "user_code",
            "verification_uri",
            "verification_uri_complete",
            "expires_in",
            "interval",
        ],
        "properties": {
            "device_code": {"type": "string"},
            "user_code": {
                "type": "string",
                "pattern": "^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$",
            },
            "verification_uri": {"type": "string"},
            "verification_uri_complete": {"type": "string"},
            "expires_in": {"type": "integer"},
            "interval": {"type": "integer"},
        },
    },
    "Introspection": {
        "type": "object",
        "required": ["active"],
        "properties": {
            "active": {"type": "boolean"},
            "scope": {"type": "string"},
            "client_id": {"type": "string"},
            "sub": {"type": "string"},
            "aud": {"oneOf": [{"type": "string"}, _STRINGS]},
            "exp": {"type": "integer"},
            "iat": {"type": "integer"},
            "iss": {"type": "string"},
            "token_type": {"type": "string"},
        },
    },
    "ClientMetadata": {
        "type": "object",
        "description": "RFC 7591 §2 client metadata; unknown members are ignored.",
        "properties": {
            "redirect_uris": _STRINGS,
            "token_endpoint_auth_method": {
                "type": "string",
                "enum": ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"],
            },
            "grant_types": _STRINGS,
            "response_types": _STRINGS,
            "application_type": {"type": "string", "enum": ["web", "native"]},
            "client_name": {"type": "string"},
            "client_uri": {"type": "string"},
            "logo_uri": {"type": "string"},
            "scope": {"type": "string"},
            "contacts": _STRINGS,
            "tos_uri": {"type": "string"},
            "policy_uri": {"type": "string"},
            "jwks_uri": {"type": "string"},
            "jwks": {"type": "object"},
            "software_id": {"type": "string"},
            "software_version": {"type": "string"},
            "software_statement": {"type": "string"},
        },
    },
    "ClientInfo": {
        "type": "object",
        "description": "RFC 7591 §3.2.1: the metadata as registered, plus credentials.",
        "required": ["client_id"],
        "properties": {
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
            "client_id_issued_at": {"type": "integer"},
            "client_secret_expires_at": {"type": "integer"},
            "registration_access_token": {"type": "string"},
            "registration_client_uri": {"type": "string"},
            "redirect_uris": _STRINGS,
            "token_endpoint_auth_method": {"type": "string"},
            "grant_types": _STRINGS,
            "response_types": _STRINGS,
        },
    },
}

_SECURITY_SCHEMES: Schema = {
    "accountAccessToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Warden access token for the resource <issuer>/account with the "
        "scope account:connections, held by the person's own app (client kind app).",
    },
    "clientSecretBasic": {"type": "http", "scheme": "basic"},
    "initialAccessToken": {"type": "http", "scheme": "bearer"},
    "registrationAccessToken": {"type": "http", "scheme": "bearer"},
}
