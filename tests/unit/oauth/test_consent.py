"""Consent policy: when to skip the page (SEC-17), what to grant, what to remember (SEC-68)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from warden.oauth.authorize import AuthorizationRequest, ClientRedirect
from warden.oauth.consent import (
    consent_view,
    covers,
    granted_scopes,
    may_skip,
    redirect_warning,
    remember,
)
from warden.oauth.model import Client, Consent
from warden.oauth.scopes import DEFAULT_CATALOGUE, ScopeCatalogue

HTTPS = "https://app.example/cb"
CATALOGUE = ScopeCatalogue.from_mapping(DEFAULT_CATALOGUE)


def request(
    scopes: str = "read:calendar",
    *,
    redirect_uri: str = HTTPS,
    resources: tuple[str, ...] = (),
    prompt: frozenset[str] = frozenset(),
) -> AuthorizationRequest:
    return AuthorizationRequest(
        redirect=ClientRedirect("app", redirect_uri, "s"),
        scopes=frozenset(scopes.split()),
        resources=resources,
        code_challenge="c" * 43,
        prompt=prompt,
    )


def consent(
    scopes: str = "read:calendar",
    *,
    redirect_uri: str = HTTPS,
    resources: frozenset[str] = frozenset(),
) -> Consent:
    return Consent("usr_1", "app", frozenset(scopes.split()), resources, redirect_uri, 1.0, 1.0)


class MemoryConsents:
    def __init__(self) -> None:
        self.saved: list[Consent] = []

    async def get(self, user_id: str, client_id: str) -> Consent | None:
        return self.saved[-1] if self.saved else None

    async def put(self, consent: Consent) -> None:
        self.saved.append(consent)

    async def delete(self, user_id: str, client_id: str) -> bool:
        return False

    async def delete_for_client(self, client_id: str) -> int:
        return 0

    async def list_for_user(self, user_id: str) -> list[Consent]:
        return self.saved


@pytest.mark.parametrize(
    ("uri", "warning"),
    [
        (HTTPS, None),
        ("http://127.0.0.1:5000/cb", "loopback"),
        ("http://localhost/cb", "loopback"),
        ("http://[::1]:80/cb", "loopback"),
        ("com.example.app:/cb", "private-use"),
    ],
)
def test_redirect_warning(uri: str, warning: str | None) -> None:
    assert redirect_warning(uri) == warning


def test_covers_uses_the_scope_hierarchy() -> None:
    assert covers(consent("read:calendar"), request("read:calendar:next-7-days"))
    assert not covers(consent("read:calendar:next-7-days"), request("read:calendar"))
    assert not covers(None, request())


def test_covers_needs_the_same_redirect_uri_and_resources() -> None:
    assert not covers(consent(redirect_uri="https://app.example/other"), request())
    rs = frozenset({"https://rs.example/mcp"})
    assert not covers(consent(resources=rs), request())
    assert covers(consent(resources=rs), request(resources=("https://rs.example/mcp",)))


def test_sec_17_never_skip_for_loopback_or_private_use_redirects() -> None:
    for uri in ("http://127.0.0.1:4000/cb", "com.example.app:/cb"):
        assert not may_skip(consent(redirect_uri=uri), request(redirect_uri=uri))
    assert may_skip(consent(), request())


def test_prompt_consent_never_skips() -> None:
    assert not may_skip(consent(), request(prompt=frozenset({"consent"})))


def test_incremental_grant_is_the_union_for_the_same_resources() -> None:
    previous = consent("read:calendar")
    new = request("write:email:send")
    assert granted_scopes(previous, new, incremental=True) == {"read:calendar", "write:email:send"}
    assert granted_scopes(previous, new, incremental=False) == {"write:email:send"}
    other = request("write:email:send", resources=("https://other.example/mcp",))
    assert granted_scopes(previous, other, incremental=True) == {"write:email:send"}


async def test_sec_68_remember_accumulates_scopes_for_the_same_resources() -> None:
    store = MemoryConsents()
    first = await remember(
        store,
        user_id="usr_1",
        request=request("read:calendar"),
        scopes=frozenset({"read:calendar"}),
        previous=None,
        now=10.0,
    )
    second = await remember(
        store,
        user_id="usr_1",
        request=request("write:email:send"),
        scopes=frozenset({"write:email:send"}),
        previous=first,
        now=20.0,
    )
    assert second.scopes == {"read:calendar", "write:email:send"}
    assert (second.granted_at, second.updated_at) == (10.0, 20.0)


async def test_sec_68_consent_for_other_resources_replaces_the_record() -> None:
    store = MemoryConsents()
    previous = consent("read:calendar", resources=frozenset({"https://a.example/mcp"}))
    saved = await remember(
        store,
        user_id="usr_1",
        request=request("write:email:send", resources=("https://b.example/mcp",)),
        scopes=frozenset({"write:email:send"}),
        previous=previous,
        now=20.0,
    )
    assert saved.scopes == {"write:email:send"}
    assert saved.resources == {"https://b.example/mcp"}


def test_view_groups_scopes_by_sensitivity_and_marks_earlier_ones() -> None:
    client = Client(
        client_id="https://agent.example/cid",
        origin="cimd",
        kind="agent",
        token_endpoint_auth_method="none",
        redirect_uris=("http://localhost/cb",),
        grant_types=("authorization_code",),
        metadata={"client_name": "Agent", "client_uri": "https://agent.example/about"},
    )
    req = request("write:email:send read:calendar:next-7-days", redirect_uri="http://localhost/cb")
    view = consent_view(
        client,
        req,
        scopes=req.scopes | {"read:calendar"},
        previous=consent("read:calendar", redirect_uri="http://localhost/cb"),
        catalogue=CATALOGUE,
        username="alice",
    )
    assert [g.sensitivity for g in view.scope_groups] == ["high", "medium", "low"]
    lines = {line.name: line for group in view.scope_groups for line in group.scopes}
    assert lines["read:calendar"].previously_granted
    assert lines["read:calendar:next-7-days"].previously_granted  # covered by read:calendar
    assert not lines["write:email:send"].previously_granted
    assert lines["write:email:send"].description == "Send email as you"
    assert (view.client.is_agent, view.client.verified) == (True, False)
    assert view.client.client_id_host == "agent.example"
    assert view.client.publisher == "agent.example"
    assert view.redirect_host == "localhost"
    assert view.redirect_warning == "loopback"


def test_view_of_an_admin_registered_app() -> None:
    client = Client(
        client_id="app",
        origin="static",
        kind="app",
        token_endpoint_auth_method="none",
        redirect_uris=("com.example.app:/cb",),
        grant_types=("authorization_code",),
    )
    req = replace(request(redirect_uri="com.example.app:/cb"))
    view = consent_view(
        client, req, scopes=req.scopes, previous=None, catalogue=CATALOGUE, username="alice"
    )
    assert view.client.name == "app"
    assert (view.client.is_agent, view.client.verified) == (False, True)
    assert view.client.client_id_host is None and view.client.publisher is None
    assert view.redirect_host == "com.example.app"
    assert view.redirect_warning == "private-use"
