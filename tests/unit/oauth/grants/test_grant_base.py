"""Narrowing rules shared by the grants (SEC-26, SEC-34, SEC-36)."""

from __future__ import annotations

import pytest

from warden.errors import InvalidScopeError, InvalidTargetError
from warden.oauth.grants.base import choose_audience, narrow_resources, narrow_scope
from warden.oauth.model import Client
from warden.settings import Settings

RS = "https://rs.example/mcp"


def test_narrow_resources_defaults_to_authorized_and_keeps_its_form() -> None:
    assert narrow_resources([], [RS]) == (RS,)
    assert narrow_resources([RS + "/"], [RS]) == (RS,)
    with pytest.raises(InvalidTargetError):
        narrow_resources(["https://other.example/mcp"], [RS])
    with pytest.raises(InvalidTargetError):
        narrow_resources([RS], [])


def test_narrow_scope_is_hierarchical_and_never_widens() -> None:
    granted = "read:calendar write:email:draft-only-no-send"
    assert narrow_scope(None, granted) == granted
    assert narrow_scope("read:calendar:next-7-days", granted) == "read:calendar:next-7-days"
    with pytest.raises(InvalidScopeError):
        narrow_scope("write:email", granted)
    with pytest.raises(InvalidScopeError):
        narrow_scope("read:calendar admin", granted)


def test_choose_audience_is_one_concrete_value() -> None:
    settings = Settings(issuer="https://warden.test")
    client = Client(
        client_id="agent_1",
        origin="static",
        kind="agent",
        token_endpoint_auth_method="none",
        redirect_uris=(),
        grant_types=(),
    )
    assert choose_audience([RS], client, settings) == RS
    assert choose_audience([], client, settings) == "agent_1"
    configured = Settings(issuer="https://warden.test", tokens={"default_audience": RS})
    assert choose_audience([], client, configured) == RS
    with pytest.raises(InvalidTargetError):
        choose_audience([RS, "https://b.example"], client, settings)
