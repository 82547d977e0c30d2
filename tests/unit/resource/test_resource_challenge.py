"""RFC 6750 §3 challenges: exact wire form, escaping, and reading them back."""

from __future__ import annotations

import pytest

from warden.resource.challenge import bearer_challenge, parse_bearer_challenge, parse_challenges

PRM = "https://rs.example/.well-known/oauth-protected-resource/mcp"


def test_no_token_challenge_has_metadata_and_scope_but_no_error() -> None:
    value = bearer_challenge(resource_metadata=PRM, scopes=["read:b", "read:a"])

    assert value == f'Bearer resource_metadata="{PRM}", scope="read:a read:b"'


def test_invalid_token_challenge() -> None:
    value = bearer_challenge(error="invalid_token", resource_metadata=PRM)

    assert value == f'Bearer error="invalid_token", resource_metadata="{PRM}"'


def test_insufficient_scope_challenge_lists_every_scope_once() -> None:
    value = bearer_challenge(
        error="insufficient_scope", resource_metadata=PRM, scopes=["b", "a", "b"]
    )

    assert value.endswith('scope="a b"')
    assert parse_bearer_challenge(value) == {
        "error": "insufficient_scope",
        "resource_metadata": PRM,
        "scope": "a b",
    }


def test_bare_challenge() -> None:
    assert bearer_challenge() == "Bearer"


def test_quotes_and_backslashes_are_escaped_and_read_back() -> None:
    value = bearer_challenge(realm='say "hi" \\ bye')

    assert value == 'Bearer realm="say \\"hi\\" \\\\ bye"'
    assert parse_bearer_challenge(value) == {"realm": 'say "hi" \\ bye'}


@pytest.mark.parametrize("bad", ["a\r\nSet-Cookie: x=1", "tab\there", "caf\u00e9"])
def test_values_that_could_break_the_header_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        bearer_challenge(resource_metadata=bad)


def test_unknown_error_code_is_refused() -> None:
    with pytest.raises(ValueError):
        bearer_challenge(error="invalid_grant")


def test_parse_several_challenges_and_token68() -> None:
    header = 'DPoP algs="ES256 EdDSA", Basic dXNlcjpwYXNz==, Bearer realm=x, error="invalid_token"'

    assert parse_challenges(header) == [
        ("dpop", {"algs": "ES256 EdDSA"}),
        ("basic", {"": "dXNlcjpwYXNz=="}),
        ("bearer", {"realm": "x", "error": "invalid_token"}),
    ]


def test_parse_attribute_names_are_case_insensitive_and_may_not_repeat() -> None:
    assert parse_bearer_challenge('bearer Scope="a"') == {"scope": "a"}
    with pytest.raises(ValueError):
        parse_bearer_challenge('Bearer scope="a", SCOPE="b"')


def test_parse_without_bearer_challenge() -> None:
    assert parse_bearer_challenge('Basic realm="x"') is None


@pytest.mark.parametrize("bad", ['Bearer scope="a" error="b"', "Bearer =x", '"Bearer"'])
def test_parse_refuses_malformed_headers(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_challenges(bad)
