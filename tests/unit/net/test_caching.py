"""Reuse lifetime of fetched documents from HTTP caching headers (RFC 9111)."""

from __future__ import annotations

import httpx
import pytest

from warden.net._caching import freshness_lifetime

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
NOW_HTTP = "Fri, 15 Jan 2027 08:00:00 GMT"


def lifetime(*headers: tuple[str, str]) -> int | None:
    return freshness_lifetime(httpx.Headers(list(headers)), now=NOW)


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        ("max-age=600", 600),
        ("public, max-age=600", 600),
        ("Max-Age=600", 600),
        ('max-age="600"', 600),
        ("max-age=0", 0),
        ("max-age=99999999999", 2**31),
        ("no-store", 0),
        ("max-age=600, no-store", 0),
        ("no-cache", 0),
        ('no-cache="set-cookie", max-age=600', 0),
        ("max-age=-5", 0),
        ("max-age=ten", 0),
        ("max-age=", 0),
        ("max-age=600, max-age=60", 0),
        ("max-age=60, max-age=60", 60),
        ("public", None),
    ],
)
def test_cache_control(cache_control: str, expected: int | None) -> None:
    assert lifetime(("Cache-Control", cache_control)) == expected


def test_cache_control_split_over_several_lines() -> None:
    assert lifetime(("Cache-Control", "public"), ("Cache-Control", "max-age=60")) == 60
    assert lifetime(("Cache-Control", "max-age=60"), ("Cache-Control", "no-store")) == 0


def test_no_caching_headers_says_nothing() -> None:
    assert lifetime() is None


def test_max_age_wins_over_expires() -> None:
    expires = ("Expires", "Fri, 15 Jan 2027 09:00:00 GMT")
    assert lifetime(("Cache-Control", "max-age=60"), expires) == 60


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Expires", "Fri, 15 Jan 2027 09:00:00 GMT")], 3600),
        ([("Expires", "Fri, 15 Jan 2027 09:00:00 GMT"), ("Date", NOW_HTTP)], 3600),
        (
            [
                ("Expires", "Fri, 15 Jan 2027 09:00:00 GMT"),
                ("Date", "Fri, 15 Jan 2027 08:30:00 GMT"),
            ],
            1800,
        ),
        ([("Expires", "Friday, 15-Jan-27 09:00:00 GMT")], 3600),
        ([("Expires", "Fri Jan 15 09:00:00 2027")], 3600),
        ([("Expires", "Fri, 15 Jan 2027 07:00:00 GMT")], 0),
        ([("Expires", "0")], 0),
        ([("Expires", "soon")], 0),
        (
            [
                ("Expires", "Fri, 15 Jan 2027 09:00:00 GMT"),
                ("Expires", "Fri, 15 Jan 2027 10:00:00 GMT"),
            ],
            0,
        ),
    ],
)
def test_expires(headers: list[tuple[str, str]], expected: int) -> None:
    assert lifetime(*headers) == expected


@pytest.mark.parametrize(
    ("age", "expected"), [("100", 500), ("700", 0), ("x", 600), ("100, 5", 500)]
)
def test_age_is_subtracted(age: str, expected: int) -> None:
    assert lifetime(("Cache-Control", "max-age=600"), ("Age", age)) == expected
