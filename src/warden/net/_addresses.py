"""Which IP addresses Warden may connect to when it fetches a URL a client gave it.

The rule is an allowlist in spirit: an address must be globally reachable (the IANA
special-purpose registries, RFC 6890) and must not fall in any range listed below. Python's
``ipaddress.is_global`` alone is not enough: on 3.11 it calls multicast, 6to4, NAT64 and
deprecated site-local addresses "global", and its tables change between patch releases.
IPv6 forms that carry an IPv4 address (mapped, 6to4, NAT64) are judged by the IPv4 address
they lead to, since that is where the packets end up.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TypeAlias

__all__ = ["IPAddress", "is_special_use_address", "parse_address"]

IPAddress: TypeAlias = IPv4Address | IPv6Address

# RFC 6890 and the IANA IPv4 special-purpose address registry.
_IPV4_BLOCKED = tuple(
    IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network" (RFC 791); 0.0.0.0 reaches the local host on Linux
        "10.0.0.0/8",  # private (RFC 1918)
        "100.64.0.0/10",  # shared address space, carrier-grade NAT (RFC 6598)
        "127.0.0.0/8",  # loopback (RFC 1122)
        "169.254.0.0/16",  # link-local, including cloud metadata 169.254.169.254 (RFC 3927)
        "172.16.0.0/12",  # private (RFC 1918)
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "192.0.2.0/24",  # documentation TEST-NET-1 (RFC 5737)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast (RFC 7526)
        "192.168.0.0/16",  # private (RFC 1918)
        "198.18.0.0/15",  # benchmarking (RFC 2544)
        "198.51.100.0/24",  # documentation TEST-NET-2 (RFC 5737)
        "203.0.113.0/24",  # documentation TEST-NET-3 (RFC 5737)
        "224.0.0.0/4",  # multicast (RFC 5771)
        "240.0.0.0/4",  # reserved, including broadcast 255.255.255.255 (RFC 1112)
    )
)

# RFC 6890 and the IANA IPv6 special-purpose address registry.
_IPV6_BLOCKED = tuple(
    IPv6Network(net)
    for net in (
        "::/96",  # unspecified, loopback and deprecated IPv4-compatible addresses (RFC 4291)
        "::ffff:0:0/96",  # IPv4-mapped; judged by the embedded address before this table
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
        "100::/64",  # discard-only (RFC 6666)
        "2001::/23",  # IETF protocol assignments, including Teredo 2001::/32 (RFC 2928, 4380)
        "2001:db8::/32",  # documentation (RFC 3849)
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs (RFC 9602)
        "fc00::/7",  # unique local (RFC 4193)
        "fe80::/10",  # link-local (RFC 4291)
        "fec0::/10",  # deprecated site-local (RFC 3879)
        "ff00::/8",  # multicast (RFC 4291)
    )
)

_NAT64 = IPv6Network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052)


def parse_address(text: str) -> IPAddress:
    """Parse an IP address string, dropping an IPv6 zone (``fe80::1%eth0``).

    :raises ValueError: if ``text`` is not an IP address.
    """
    address = ipaddress.ip_address(text)
    if isinstance(address, IPv6Address) and address.scope_id is not None:
        address = IPv6Address(text.split("%", 1)[0])
    return address


def is_special_use_address(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """True unless ``address`` is a globally reachable unicast address (RFC 6890).

    :param allow_loopback: development only; accept ``127.0.0.0/8`` and ``::1`` (also when
        written as an IPv4-mapped IPv6 address).
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return is_special_use_address(embedded, allow_loopback=allow_loopback)
    if allow_loopback and address.is_loopback:
        return False
    if isinstance(address, IPv4Address):
        blocked = any(address in net for net in _IPV4_BLOCKED)
    else:
        blocked = any(address in net for net in _IPV6_BLOCKED)
    return blocked or address.is_multicast or not address.is_global


def _embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 one leads to: mapped, 6to4 or NAT64 (RFC 4291, 3056, 6052)."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None
