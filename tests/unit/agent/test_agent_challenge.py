"""WWW-Authenticate parsing (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1)."""

from __future__ import annotations

import httpx
import pytest

from warden.agent.challenge import bearer_challenge, parse_challenges


def challenge_of(*values: str) -> dict[str, str] | None:
    response = httpx.Response(401, headers=[("WWW-Authenticate", v) for v in values])
    found = bearer_challenge(response)
    return None if found is None else found.params


def test_mcp_401_challenge() -> None:
    params = challenge_of(
        'Bearer resource_metadata="https://rs.test/.well-known/oauth-protected-resource/mcp", '
        'scope="read:calendar write:email"'
    )
    assert params == {
        "resource_metadata": "https://rs.test/.well-known/oauth-protected-resource/mcp",
        "scope": "read:calendar write:email",
    }


def test_insufficient_scope_403() -> None:
    response = httpx.Response(
        403,
        headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="a b"'},
    )
    found = bearer_challenge(response)
    assert found is not None
    assert (found.error, found.scope, found.resource_metadata) == (
        "insufficient_scope",
        "a b",
        None,
    )


def test_scheme_and_parameter_names_are_case_insensitive() -> None:
    assert challenge_of('bEaReR Error="invalid_token", SCOPE=read') == {
        "error": "invalid_token",
        "scope": "read",
    }


def test_bearer_among_several_challenges_in_one_header() -> None:
    header = 'DPoP algs="ES256", Basic realm="x", Bearer error="invalid_token", realm="r"'
    assert challenge_of(header) == {"error": "invalid_token", "realm": "r"}


def test_bearer_on_its_own_header_line() -> None:
    assert challenge_of('Basic realm="x"', 'Bearer scope="s"') == {"scope": "s"}


def test_token68_of_another_scheme_is_skipped() -> None:
    assert challenge_of('Negotiate abc123==, Bearer scope="s"') == {"scope": "s"}


def test_bare_scheme_before_bearer() -> None:
    assert challenge_of("Negotiate, Bearer") == {}


def test_quoted_string_escapes_and_commas() -> None:
    assert challenge_of(r'Bearer error_description="a \"quoted\", value\\ here"') == {
        "error_description": 'a "quoted", value\\ here'
    }


def test_first_occurrence_of_a_parameter_wins() -> None:
    assert challenge_of('Bearer scope="a", scope="b"') == {"scope": "a"}


@pytest.mark.parametrize("header", ['Basic realm="x"', "", "Digest"])
def test_no_bearer_challenge(header: str) -> None:
    assert challenge_of(header) is None


def test_no_header_at_all() -> None:
    assert bearer_challenge(httpx.Response(401)) is None


def test_malformed_text_keeps_what_was_read() -> None:
    assert parse_challenges(['Bearer scope="s", "junk']) == [("bearer", {"scope": "s"})]
