"""User codes and the device authorization response (RFC 8628 §3.2, §6.1; SEC-89)."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from warden.oauth.device import (
    USER_CODE_ALPHABET,
    USER_CODE_BITS,
    USER_CODE_LENGTH,
    DeviceAuthorizationResponse,
    format_user_code,
    new_user_code,
    normalise_user_code,
    user_code_digest,
)
from warden.oauth.secrets import SecretHasher


def test_sec_89_alphabet_is_twenty_distinct_consonants() -> None:
    assert len(USER_CODE_ALPHABET) == len(set(USER_CODE_ALPHABET)) == 20
    assert USER_CODE_ALPHABET.isupper() and USER_CODE_ALPHABET.isalpha()
    # No vowels (no words, RFC 8628 §6.1) and nothing that looks like a digit.
    assert not set(USER_CODE_ALPHABET) & set("AEIOUY0123456789")


def test_sec_89_eight_characters_carry_about_34_5_bits() -> None:
    assert USER_CODE_LENGTH == 8
    assert math.isclose(USER_CODE_BITS, 8 * math.log2(20))
    assert USER_CODE_BITS > 34.5


def test_new_user_codes_are_uniform_over_the_alphabet() -> None:
    codes = [new_user_code() for _ in range(2000)]
    assert all(len(c) == USER_CODE_LENGTH and set(c) <= set(USER_CODE_ALPHABET) for c in codes)
    assert len(set(codes)) > 1990  # 2000 draws from 20^8 codes: a repeat is a 1-in-12,800 event
    # Every letter turns up, roughly evenly (16,000 draws, 800 expected each).
    counts = Counter("".join(codes))
    assert set(counts) == set(USER_CODE_ALPHABET)
    assert min(counts.values()) > 600
    assert max(counts.values()) < 1000


def test_user_codes_are_shown_in_two_groups() -> None:
    assert format_user_code("BCDFGHJK") == "BCDF-GHJK"


@pytest.mark.parametrize(
    "typed",
    ["BCDF-GHJK", "bcdf-ghjk", "BCDFGHJK", "bcdfghjk", " bcdf ghjk ", "BcDf - GhJk", "BCDF\tGHJK"],
)
def test_sec_89_codes_are_compared_without_case_or_separators(typed: str) -> None:
    assert normalise_user_code(typed) == "BCDFGHJK"


@pytest.mark.parametrize(
    "typed",
    [
        None,
        "",
        "BCDF-GHJ",  # too short
        "BCDF-GHJKL",  # too long
        "BCDA-GHJK",  # a vowel
        "BCD0-GHJK",  # a digit
        "BCDF_GHJK",  # not a separator
        "BCDF-GHJＫ",  # full-width letter
        "B" * 40,  # over the input cap
    ],
)
def test_anything_else_is_not_a_code(typed: str | None) -> None:
    assert normalise_user_code(typed) is None


def test_user_code_digest_is_keyed_and_not_the_code() -> None:
    one, other = SecretHasher(b"k" * 32), SecretHasher(b"j" * 32)
    digest = user_code_digest(one, "BCDFGHJK")
    assert "BCDFGHJK" not in digest
    assert digest == user_code_digest(one, "BCDFGHJK")
    assert digest != user_code_digest(other, "BCDFGHJK")
    assert digest != one.digest("BCDFGHJK")  # separate from other digests of the same text


def test_response_has_every_rfc_8628_member() -> None:
    response = DeviceAuthorizationResponse(
        device_code="dc",
        user_code="BCDF-GHJK",
        verification_uri="https://warden.test/device",
        expires_in=600,
        interval=5,
    )
    assert response.to_dict() == {
        "device_code": "dc",
        "user_code": "BCDF-GHJK",
        "verification_uri": "https://warden.test/device",
        "verification_uri_complete": "https://warden.test/device?user_code=BCDF-GHJK",
        "expires_in": 600,
        "interval": 5,
    }
