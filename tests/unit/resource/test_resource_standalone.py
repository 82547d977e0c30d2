"""warden.resource stands alone: no database, no web framework, no Warden server code."""

from __future__ import annotations

import subprocess
import sys

import warden.resource

SCRIPT = """
import sys
for name in ("sqlalchemy", "starlette", "jinja2", "mcp", "pydantic_settings"):
    sys.modules[name] = None  # any import of these now raises ImportError
import warden.resource
import warden.resource.mcp
from warden.resource import TokenVerifier, RequireBearer, ProtectedResourceMetadata
server = [m for m in sys.modules
          if m.split(".")[:2] in (["warden", "oauth"], ["warden", "storage"],
                                  ["warden", "web"], ["warden", "settings"])]
assert not server, server
print("ok")
"""


def test_imports_without_sqlalchemy_starlette_or_mcp() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_public_surface() -> None:
    assert sorted(warden.resource.__all__) == [
        "Actor",
        "ActorType",
        "AuthorizationServerMetadata",
        "AuthorizationServerUnavailable",
        "BearerVerifier",
        "InsufficientScopeError",
        "IntrospectionVerifier",
        "InvalidRequestError",
        "InvalidTokenError",
        "JwksCache",
        "Principal",
        "ProtectedResourceMetadata",
        "ProtectedResourceMetadataApp",
        "RequireBearer",
        "ResourceError",
        "TokenVerifier",
        "VerificationKey",
        "bearer_challenge",
        "covers",
        "current_principal",
        "missing_scopes",
        "parse_bearer_challenge",
        "parse_challenges",
        "require_scopes",
    ]
    for name in warden.resource.__all__:
        assert getattr(warden.resource, name) is not None
