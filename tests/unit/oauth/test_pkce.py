"""RFC 7636 PKCE: syntax checks and S256 verification."""

from __future__ import annotations

import hmac
from unittest import mock

import pytest

from warden.errors import InvalidRequestError
from warden.oauth import pkce

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_rfc_7636_appendix_b_vector() -> None:
    assert pkce.s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert pkce.verify(RFC_VERIFIER, RFC_CHALLENGE)
    assert pkce.verify_pkce is pkce.verify


def test_sec_22_wrong_verifier_does_not_match() -> None:
    assert not pkce.verify("a" * 43, RFC_CHALLENGE)


def test_sec_22_verify_is_constant_time() -> None:
    with mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as spy:
        assert pkce.verify(RFC_VERIFIER, RFC_CHALLENGE)
    spy.assert_called_once()


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129, "a" * 42 + "=", "a" * 42 + " ", ""])
def test_sec_22_malformed_verifier_never_matches(verifier: str) -> None:
    assert not pkce.is_valid_verifier(verifier)
    assert not pkce.verify(verifier, pkce.s256_challenge("b" * 43))


@pytest.mark.parametrize("verifier", ["a" * 43, "a" * 128, "A-._~" * 9])
def test_valid_verifiers(verifier: str) -> None:
    assert pkce.is_valid_verifier(verifier)
    assert pkce.check_verifier(verifier) == verifier


@pytest.mark.parametrize("verifier", [None, "", "x" * 20])
def test_sec_22_check_verifier_rejects_missing_or_short(verifier: str | None) -> None:
    with pytest.raises(InvalidRequestError):
        pkce.check_verifier(verifier)


def test_check_challenge_accepts_s256() -> None:
    pkce.check_challenge(RFC_CHALLENGE, "S256")


def test_sec_1_challenge_is_required() -> None:
    with pytest.raises(InvalidRequestError, match="code_challenge is required"):
        pkce.check_challenge(None, "S256")


@pytest.mark.parametrize("method", [None, "plain", "s256", "S512"])
def test_sec_2_only_s256(method: str | None) -> None:
    with pytest.raises(InvalidRequestError, match="S256"):
        pkce.check_challenge(RFC_CHALLENGE, method)


@pytest.mark.parametrize("challenge", ["abc", RFC_CHALLENGE + "=", "a" * 44, "a" * 42 + "+"])
def test_sec_3_challenge_syntax(challenge: str) -> None:
    assert not pkce.is_valid_challenge(challenge)
    with pytest.raises(InvalidRequestError):
        pkce.check_challenge(challenge, "S256")
