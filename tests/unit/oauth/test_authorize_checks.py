"""The authorization request pipeline, without HTTP: phases, order and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from warden.clock import FrozenClock
from warden.errors import (
    InvalidRequestError,
    InvalidScopeError,
    UnsupportedResponseTypeError,
)
from warden.oauth import authorize
from warden.oauth.authorize import AuthorizeFailure, ClientRedirect, validate
from warden.oauth.model import Client, Resource
from warden.oauth.pkce import s256_challenge
from warden.oauth.requests import OAuthRequest, Params
from warden.oauth.scopes import DEFAULT_CATALOGUE, ScopeCatalogue
from warden.oauth.secrets import SecretHasher
from warden.settings import Settings

CHALLENGE = s256_challenge("v" * 43)
CLIENT = Client(
    client_id="app",
    origin="static",
    kind="app",
    token_endpoint_auth_method="none",
    redirect_uris=("https://app.example/cb",),
    grant_types=("authorization_code",),
)


class Directory:
    """Stands in for ``ClientDirectory``: registered clients only."""

    async def find(self, client_id: str, store: Any, consents: Any = None) -> Client | None:
        client: Client | None = await store.get(client_id)
        return client


@dataclass
class Env:
    settings: Settings = field(
        default_factory=lambda: Settings(issuer="https://as.example", secret_key="k" * 40)
    )
    clock: FrozenClock = field(default_factory=FrozenClock)
    hasher: SecretHasher = field(default_factory=lambda: SecretHasher(b"p" * 32))
    scopes: ScopeCatalogue = field(
        default_factory=lambda: ScopeCatalogue.from_mapping(DEFAULT_CATALOGUE)
    )
    clients: Directory = field(default_factory=Directory)


class Clients:
    async def get(self, client_id: str) -> Client | None:
        return CLIENT if client_id == "app" else None


class Resources:
    async def list(self) -> list[Resource]:
        return []


class Stores:
    clients = Clients()
    resources = Resources()
    consents = None


def request(method: str = "GET", **overrides: str | None) -> OAuthRequest:
    values: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": "https://app.example/cb",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "state": "xyz",
        "scope": "read:calendar offline_access",
        "resource": "https://RS.example/mcp",
    }
    values.update(overrides)
    params = Params([(k, v) for k, v in values.items() if v is not None])
    if method == "POST":
        return OAuthRequest("POST", "https://as.example/authorize", form=params)
    return OAuthRequest("GET", "https://as.example/authorize", query=params)


async def run(req: OAuthRequest) -> Any:
    return await validate(req, Env(), Stores())  # type: ignore[arg-type]


def test_the_pipelines_read_in_the_documented_order() -> None:
    assert [c.__name__ for c in authorize.PHASE_1] == ["check_client", "check_redirect_uri"]
    assert [c.__name__ for c in authorize.PHASE_2] == [
        "check_state",
        "check_single_values",
        "check_response_type",
        "check_pkce",
        "check_scope",
        "check_resource",
        "check_prompt",
    ]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_valid_request(method: str) -> None:
    validated, client = await run(request(method))
    assert client is CLIENT
    assert validated.redirect == ClientRedirect("app", "https://app.example/cb", "xyz")
    assert validated.scopes == {"read:calendar", "offline_access"}
    assert validated.resources == ("https://rs.example/mcp",)
    assert validated.code_challenge == CHALLENGE
    assert validated.prompt == frozenset()


async def test_phase_1_failures_have_nowhere_to_redirect() -> None:
    with pytest.raises(AuthorizeFailure) as unknown:
        await run(request(client_id="nope"))
    assert unknown.value.redirect is None
    assert isinstance(unknown.value.error, InvalidRequestError)
    with pytest.raises(AuthorizeFailure) as mismatch:
        await run(request(redirect_uri="https://evil.test/cb"))
    assert mismatch.value.redirect is None and mismatch.value.client is CLIENT


async def test_phase_2_failures_carry_the_validated_redirect_and_state() -> None:
    with pytest.raises(AuthorizeFailure) as failure:
        await run(request(response_type="token"))
    assert isinstance(failure.value.error, UnsupportedResponseTypeError)
    assert failure.value.redirect == ClientRedirect("app", "https://app.example/cb", "xyz")


async def test_earlier_checks_win() -> None:
    """A request with several faults reports the first check's error."""
    with pytest.raises(AuthorizeFailure) as failure:
        await run(request(response_type="token", code_challenge=None, scope="bogus"))
    assert isinstance(failure.value.error, UnsupportedResponseTypeError)
    with pytest.raises(AuthorizeFailure) as scope_last:
        await run(request(scope="bogus", prompt="weird"))
    assert isinstance(scope_last.value.error, InvalidScopeError)


async def test_post_reads_only_the_body() -> None:
    req = request("POST")
    mixed = OAuthRequest("POST", req.url, query=Params([("scope", "admin")]), form=req.form)
    validated, _ = await run(mixed)
    assert "admin" not in validated.scopes
