"""Scope hierarchy (MCP RS9) and the scope claim."""

from __future__ import annotations

import pytest

from warden.resource.scopes import check_scopes, covers, missing_scopes, parse_scope_claim


@pytest.mark.parametrize(
    ("granted", "needed", "expected"),
    [
        ("read:calendar", "read:calendar", True),
        ("read:calendar", "read:calendar:next-7-days", True),
        ("read:calendar:next-7-days", "read:calendar", False),
        ("read:cal", "read:calendar", False),
        ("read", "read:calendar:next-7-days", True),
        ("write:email", "read:email", False),
    ],
)
def test_covers_is_a_colon_segment_prefix(granted: str, needed: str, expected: bool) -> None:
    assert covers(granted, needed) is expected


def test_missing_scopes() -> None:
    granted = ["read:calendar", "write:email:draft-only-no-send"]

    assert missing_scopes(granted, ["read:calendar:next-7-days"]) == frozenset()
    assert missing_scopes(granted, ["read:calendar", "write:email:send"]) == {"write:email:send"}


def test_parse_scope_claim() -> None:
    assert parse_scope_claim("a b  c") == {"a", "b", "c"}
    assert parse_scope_claim(None) == frozenset()
    assert parse_scope_claim(["a"]) is None
    assert parse_scope_claim('a "b"') is None


def test_check_scopes_sorts_and_refuses_offline_access() -> None:
    assert check_scopes(["b", "a", "b"], what="x") == ("a", "b")
    with pytest.raises(ValueError, match="offline_access"):
        check_scopes(["offline_access"], what="x")
    with pytest.raises(ValueError):
        check_scopes("a b", what="x")
