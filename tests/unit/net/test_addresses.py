"""Special-use address classification (SEC-53), one row per IANA special-purpose range."""

from __future__ import annotations

import pytest

from warden.net import is_special_use_address
from warden.net._addresses import parse_address

SPECIAL_USE = [
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.9",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.0.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "233.252.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::10.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",
    "64:ff9b:1::1",
    "100::1",
    "2001::1",
    "2001:db8::1",
    "2002:a00:1::",
    "2002:a9fe:a9fe::1",
    "3fff::1",
    "5f00::1",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
]

PUBLIC = ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("text", SPECIAL_USE)
def test_sec_53_special_use_addresses(text: str) -> None:
    assert is_special_use_address(parse_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_sec_53_public_addresses(text: str) -> None:
    assert not is_special_use_address(parse_address(text))


@pytest.mark.parametrize("text", ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"])
def test_sec_53_allow_loopback_admits_loopback_only(text: str) -> None:
    assert not is_special_use_address(parse_address(text), allow_loopback=True)


@pytest.mark.parametrize("text", ["10.0.0.1", "169.254.169.254", "fe80::1", "0.0.0.0"])
def test_sec_53_allow_loopback_still_refuses_the_rest(text: str) -> None:
    assert is_special_use_address(parse_address(text), allow_loopback=True)


@pytest.mark.parametrize("text", ["127.1", "0x7f.0.0.1", "2130706433", "010.0.0.1", "c.test"])
def test_parse_address_accepts_only_canonical_forms(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)
