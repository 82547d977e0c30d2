"""Scope grammar, hierarchy and catalogue (issue 4, item 5).

The hierarchy is checked as properties (hypothesis): ``covers`` is a partial order on scope
tokens that only ever lets a broader scope stand for a narrower one, and every place that
narrows a scope (refresh, exchange, code redemption, consent) agrees with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warden.errors import InvalidRequestError, InvalidScopeError
from warden.oauth.consent import chosen_scopes
from warden.oauth.grants.base import narrow_scope
from warden.oauth.scopes import (
    DEFAULT_CATALOGUE,
    ScopeCatalogue,
    covered_by,
    covers,
    format_scope,
    parse_scope,
)

# Segments from a small alphabet, so that generated scopes often share prefixes: the
# interesting cases (parent and child, siblings like calendar/calendars) come up often.
segment = st.text(alphabet="abc-", min_size=1, max_size=3)
scope = st.lists(segment, min_size=1, max_size=4).map(":".join)
scope_sets = st.frozensets(scope, max_size=5)


# -- covers: a partial order, broader covers narrower -------------------------------------


@given(scope)
def test_covers_is_reflexive(s: str) -> None:
    assert covers(s, s)


@given(scope, scope, scope)
def test_covers_is_transitive(a: str, b: str, c: str) -> None:
    if covers(a, b) and covers(b, c):
        assert covers(a, c)


@given(scope, st.lists(segment, min_size=1, max_size=3))
def test_a_scope_covers_every_narrower_one(parent: str, rest: list[str]) -> None:
    child = ":".join([parent, *rest])
    assert covers(parent, child)


@given(scope, scope)
def test_covers_never_lets_a_narrower_scope_stand_for_a_broader_one(a: str, b: str) -> None:
    if covers(a, b) and a != b:
        assert not covers(b, a)  # antisymmetric
        assert b.count(":") > a.count(":")  # b is strictly deeper in the hierarchy
        assert b.startswith(a + ":")  # on a segment boundary, never a string prefix


@given(scope, segment)
def test_a_string_prefix_is_not_a_parent(base: str, tail: str) -> None:
    # "read:calendar" must not cover "read:calendars": same characters, another segment.
    assert not covers(base, base + tail)
    assert not covers(base + tail, base)


def test_the_calendar_examples() -> None:
    assert covers("read:calendar", "read:calendar:next-7-days")
    assert not covers("read:calendar:next-7-days", "read:calendar")
    assert not covers("read:calendar", "read:calendars")
    assert not covers("read", "write:read")


@given(scope_sets, scope_sets)
def test_covered_by_means_each_requested_scope_has_a_cover(
    requested: frozenset[str], granted: frozenset[str]
) -> None:
    expected = all(any(covers(g, r) for g in granted) for r in requested)
    assert covered_by(requested, granted) is expected


@given(scope_sets, scope_sets, scope_sets)
def test_covered_by_is_monotonic_in_what_is_granted(
    requested: frozenset[str], granted: frozenset[str], more: frozenset[str]
) -> None:
    if covered_by(requested, granted):
        assert covered_by(requested, granted | more)
        assert covered_by(requested & more, granted)  # asking for less still fits


# -- narrowing everywhere uses the hierarchy ----------------------------------------------


@given(scope_sets.filter(bool), scope_sets)
def test_token_narrowing_accepts_exactly_what_the_grant_covers(
    requested: frozenset[str], granted: frozenset[str]
) -> None:
    """refresh_token, authorization_code, device_code and token exchange share narrow_scope."""
    wanted, held = format_scope(requested), format_scope(granted)
    if covered_by(requested, granted):
        assert parse_scope(narrow_scope(wanted, held)) == requested
    else:
        with pytest.raises(InvalidScopeError):
            narrow_scope(wanted, held)


@given(scope_sets)
def test_token_narrowing_without_scope_keeps_the_grant(granted: frozenset[str]) -> None:
    assert parse_scope(narrow_scope(None, format_scope(granted))) == granted


@given(scope_sets, scope_sets, scope_sets)
def test_consent_choice_is_never_wider_than_the_offer(
    offered: frozenset[str], allowed: frozenset[str], posted: frozenset[str]
) -> None:
    """What a person keeps on the consent page narrows the request; it never widens it."""
    try:
        chosen = chosen_scopes(offered, allowed, posted)
    except InvalidRequestError:
        optional = {s for s in offered if not covered_by([s], allowed)}
        assert not covered_by(posted, optional)
        return
    assert covered_by(chosen, offered)
    kept = {s for s in offered if covered_by([s], allowed)}
    assert kept <= chosen  # already-allowed scopes are taken back elsewhere, not here


@given(scope_sets, scope_sets)
def test_consent_without_a_choice_grants_the_offer(
    offered: frozenset[str], allowed: frozenset[str]
) -> None:
    assert chosen_scopes(offered, allowed, None) == offered


def test_consent_may_keep_a_narrower_scope_of_one_offered() -> None:
    offered = frozenset({"read:calendar", "write:email:send"})
    chosen = chosen_scopes(offered, frozenset(), ["read:calendar:next-7-days"])
    assert chosen == {"read:calendar:next-7-days"}
    with pytest.raises(InvalidRequestError):
        chosen_scopes(offered, frozenset(), ["read"])  # broader than anything offered


# -- grammar --------------------------------------------------------------------------------


def test_parse_scope_splits_and_checks_the_rfc_6749_charset() -> None:
    assert parse_scope("b a") == {"a", "b"}
    assert parse_scope(None) == parse_scope("") == frozenset()
    for bad in ('a"b', "a\\b", "a  b", "é"):
        with pytest.raises(InvalidScopeError):
            parse_scope(bad)


# -- the catalogue ----------------------------------------------------------------------------


def test_unknown_scopes_are_invalid_scope() -> None:
    catalogue = ScopeCatalogue.from_mapping(DEFAULT_CATALOGUE)
    catalogue.check_known(["read:calendar", "read:calendar:next-7-days"])
    with pytest.raises(InvalidScopeError, match="read:calendars"):
        catalogue.check_known(["read:calendars"])


def test_account_scope_is_for_administrators_apps_only() -> None:
    catalogue = ScopeCatalogue.from_mapping(DEFAULT_CATALOGUE)
    catalogue.check_allowed(["account:connections"], kind="app", origin="static")
    with pytest.raises(InvalidScopeError):
        catalogue.check_allowed(["account:connections"], kind="agent", origin="static")
    with pytest.raises(InvalidScopeError):
        catalogue.check_allowed(["account:connections"], kind="app", origin="dynamic")


def test_loads_a_toml_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "scopes.toml"
    path.write_text(
        '[scopes."files:read"]\ndescription = "Read your files"\nsensitivity = "medium"\n'
        '[scopes."files:delete"]\ndescription = "Delete files"\nsensitivity = "high"\n'
        "agents = false\n"
    )
    catalogue = ScopeCatalogue.load(path)
    assert catalogue.names() == ["files:delete", "files:read"]
    entry = catalogue.get("files:delete")
    assert entry is not None and entry.sensitivity == "high" and not entry.agents


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[scopes."a b"]\ndescription = "x"\n', "not a valid scope token"),
        ('[scopes.a]\nsensitivity = "low"\n', "needs a description"),
        ('[scopes.a]\ndescription = "x"\nsensitivity = "extreme"\n', "sensitivity"),
        ('[scopes.a]\ndescription = "x"\nagents = "yes"\n', "agents must be a bool"),
        ('[scopes.a]\ndescription = "x"\ncolour = "red"\n', "unknown fields: colour"),
        ('scopes = "read"\n', "must be a table"),
        ("[scopes\n", "Expected"),
    ],
)
def test_a_bad_catalogue_file_names_its_mistake(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "scopes.toml"
    path.write_text(toml)
    with pytest.raises(ValueError, match=message):
        ScopeCatalogue.load(path)


def test_replace_entries_changes_every_holder_at_once() -> None:
    shared = ScopeCatalogue.from_mapping(DEFAULT_CATALOGUE)
    holder = shared  # what Registrar, ClientDirectory and the token endpoint keep
    shared.replace_entries(ScopeCatalogue.from_mapping({"x:y": {"description": "X"}}))
    assert holder.names() == ["x:y"]
    assert "read:calendar" not in holder
