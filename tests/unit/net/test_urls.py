"""URL shape checks made before any network access (SEC-52)."""

from __future__ import annotations

import pytest

from warden.net import MAX_URL_LENGTH, UnsafeURLError, check_url_shape


@pytest.mark.parametrize(
    "url",
    [
        "https://c.example/id",
        "https://c.example:8443/clients/agent.json",
        "https://xn--bcher-kva.example/id",
        "https://C.Example/id",
        "https://c.example/a%2Fb",
    ],
)
def test_sec_52_acceptable_client_id_urls(url: str) -> None:
    check_url_shape(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://c.example/id", "https"),
        ("https://c.example", "path"),
        ("https://c.example/", "path"),
        ("https://c.example/a/../id", "segments"),
        ("https://c.example/a/./id", "segments"),
        ("https://c.example/a/%2e%2E/id", "segments"),
        ("https://c.example/..", "segments"),
        ("https://u:p@c.example/id", "username"),
        ("https://u@c.example/id", "username"),
        ("https://c.example\\@evil.example/id", "ASCII"),
        ("https://c.example/id#x", "fragment"),
        ("https://c.example/id#", "fragment"),
        ("https://c.example/id?x=1", "query"),
        ("https://c.example/id?", "query"),
        ("https://10.0.0.1/id", "IP address"),
        ("https://[::1]/id", "IP address"),
        ("https://127.0.0.1/id", "IP address"),
        ("https://127.1/id", "DNS name"),
        ("https://2130706433/id", "DNS name"),
        ("https://0x7f.0.0.1/id", "DNS name"),
        ("https://localhost/id", "DNS name"),
        ("https://c.example./id", "DNS name"),
        ("https://c_x.example/id", "DNS name"),
        ("https://-c.example/id", "DNS name"),
        ("https://c%2eexample/id", "DNS name"),
        ("https://bücher.example/id", "ASCII"),
        ("https://c.example/i d", "ASCII"),
        ("https://c.example:0/id", "port 0"),
        ("https://c.example:99999/id", "parsed"),
        ("https:///id", "DNS name"),
        ("https://c.example/" + "a" * MAX_URL_LENGTH, "longer"),
        ("javascript:alert(1)", "https"),
    ],
)
def test_sec_52_unacceptable_client_id_urls(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURLError, match=reason):
        check_url_shape(url)


def test_sec_52_query_and_root_path_allowed_when_asked() -> None:
    check_url_shape("https://c.example/?v=1", require_path=False, allow_query=True)
    check_url_shape("https://c.example", require_path=False)


@pytest.mark.parametrize(
    "url", ["http://localhost:3000/id", "http://127.0.0.1:8/id", "https://[::1]/id"]
)
def test_sec_52_loopback_only_in_development(url: str) -> None:
    check_url_shape(url, allow_loopback=True)
    with pytest.raises(UnsafeURLError):
        check_url_shape(url)


def test_sec_52_development_still_refuses_other_ip_literals() -> None:
    with pytest.raises(UnsafeURLError, match="IP address"):
        check_url_shape("http://10.0.0.1/id", allow_loopback=True)
