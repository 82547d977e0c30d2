"""Redirect URI registration rules (SEC-42) and request matching (SEC-4, SEC-5, SEC-6)."""

from __future__ import annotations

import pytest

from warden.errors import InvalidRedirectUriError, InvalidRequestError
from warden.oauth.redirect_uris import (
    RedirectUriMismatch,
    is_loopback_redirect,
    match_redirect_uri,
    validate_redirect_uri,
)

# --- registration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/cb",
        "https://app.example:8443/cb?x=1&y=2",
        "https://app.example",
        "https://[2001:db8::1]/cb",
        "https://192.0.2.10/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:3030/callback",
        "http://[::1]:8080/cb",
        "http://localhost:3030/callback",
        "http://localhost/callback",
    ],
)
@pytest.mark.parametrize("application_type", ["web", "native"])
def test_accepted_redirect_uris(uri: str, application_type: str) -> None:
    assert validate_redirect_uri(uri, application_type=application_type) == uri


@pytest.mark.parametrize(
    "uri",
    ["com.example.app:/cb", "com.example.app:/oauth2redirect/provider", "io.x.y://cb"],
)
def test_sec_42_private_use_scheme_with_a_dot_is_allowed_for_native(uri: str) -> None:
    assert validate_redirect_uri(uri, application_type="native") == uri


def test_sec_42_private_use_scheme_needs_native() -> None:
    with pytest.raises(InvalidRedirectUriError):
        validate_redirect_uri("com.example.app:/cb", application_type="web")


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example/cb",
        "http://127.0.0.2/cb",
        "http://127.0.0.1.nip.io/cb",
        "http://localhost.evil.test/cb",
        "JavaScript:alert(1)",
        "javascript:alert(1)",
        " javascript:alert(1)",
        "javascript:alert(1) ",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "https://app.example/cb\n",
        "https://app.example/cb\r\n",
        "\x00javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        "https://*.example/cb",
        "https://app.example/*",
        "https://a.example/cb#x",
        "https://a.example/cb#",
        "myapp:/cb",
        "myapp://cb",
        "com.example.app:",
        "https://user@app.example/cb",
        "https://u:p@app.example/cb",
        "https://app.example@evil.test/cb",
        "https://app.example\\@evil.test/cb",
        "https://app.example/a/../cb",
        "https://app.example/a/%2e%2e/cb",
        "https://app.example/./cb",
        "HTTPS://app.example/cb",
        "https:app.example/cb",
        "https:///cb",
        "https://app.example:0/cb",
        "https://app.example:99999/cb",
        "https://app.example:/cb",
        "https://app_example/cb",
        "https://[zz::1]/cb",
        "https://app.example/caf\u00e9",
        "https://app.example/\u202ecb",
        "/relative/cb",
        "cb",
        "",
        "https://app.example/" + "a" * 2000,
    ],
)
@pytest.mark.parametrize("application_type", ["web", "native"])
def test_sec_42_refused_redirect_uris(uri: str, application_type: str) -> None:
    with pytest.raises(InvalidRedirectUriError) as info:
        validate_redirect_uri(uri, application_type=application_type)
    assert info.value.error == "invalid_redirect_uri"


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidRedirectUriError):
        validate_redirect_uri(42, application_type="web")  # type: ignore[arg-type]


# --- matching -----------------------------------------------------------------------------

REGISTERED = ["https://app.example/cb"]


def test_sec_4_exact_match_is_accepted() -> None:
    assert match_redirect_uri(REGISTERED, "https://app.example/cb") == "https://app.example/cb"


@pytest.mark.parametrize(
    "requested",
    [
        "https://app.example/CB",
        "https://APP.example/cb",
        "HTTPS://app.example/cb",
        "https://app.example/cb/",
        "https://app.example/cb?x=1",
        "https://app.example/cb?",
        "https://app.example/cb/../cb",
        "https://app.example/cb#f",
        "https://app.example.evil.test/cb",
        "https://u@app.example/cb",
        "https://app.example/cb%2F..",
        "https://app.example:443/cb",
        "https://app.example/c",
        "https://app.example/cb ",
        "http://app.example/cb",
    ],
)
def test_sec_4_anything_but_the_exact_string_is_refused(requested: str) -> None:
    with pytest.raises(RedirectUriMismatch):
        match_redirect_uri(REGISTERED, requested)


def test_sec_4_query_must_match_exactly() -> None:
    registered = ["https://app.example/cb?tenant=a"]
    assert match_redirect_uri(registered, registered[0]) == registered[0]
    for requested in ("https://app.example/cb", "https://app.example/cb?tenant=b"):
        with pytest.raises(RedirectUriMismatch):
            match_redirect_uri(registered, requested)


@pytest.mark.parametrize(
    ("registered", "requested"),
    [
        ("http://127.0.0.1/cb", "http://127.0.0.1:53111/cb"),
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1:53111/cb"),
        ("http://127.0.0.1:3000/cb", "http://127.0.0.1/cb"),
        ("http://[::1]/cb", "http://[::1]:53111/cb"),
        ("http://localhost/callback", "http://localhost:53111/callback"),
        ("http://localhost/cb?x=1", "http://localhost:1/cb?x=1"),
        ("http://127.0.0.1", "http://127.0.0.1:8080"),
    ],
)
def test_sec_5_loopback_port_may_vary(registered: str, requested: str) -> None:
    assert match_redirect_uri([registered], requested) == requested


@pytest.mark.parametrize(
    "requested",
    [
        "http://127.0.0.1:53111/cb?x=1",
        "http://127.0.0.2:80/cb",
        "http://localhost:53111/cb",
        "http://127.0.0.1.nip.io:80/cb",
        "https://127.0.0.1:53111/cb",
        "http://127.0.0.1:53111/cb/",
        "http://127.0.0.1:53111/CB",
        "http://127.0.0.1:53111/cb#x",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:053111/cb",
        "http://127.0.0.1:/cb",
        "http://u@127.0.0.1:53111/cb",
        "http://127.0.0.1:53111@evil.test/cb",
        "http://127.0.0.1:53111\\@evil.test/cb",
        "http://127.0.0.1:53111/cb\n",
    ],
)
def test_sec_5_loopback_only_the_port_may_differ(requested: str) -> None:
    with pytest.raises(RedirectUriMismatch):
        match_redirect_uri(["http://127.0.0.1/cb"], requested)


def test_sec_5_no_port_freedom_for_other_hosts() -> None:
    with pytest.raises(RedirectUriMismatch):
        match_redirect_uri(["https://app.example/cb"], "https://app.example:8443/cb")
    with pytest.raises(RedirectUriMismatch):
        match_redirect_uri(["https://localhost/cb"], "https://localhost:8443/cb")


def test_sec_6_redirect_uri_may_be_omitted_with_one_registered() -> None:
    assert match_redirect_uri(REGISTERED, None) == REGISTERED[0]


def test_sec_6_redirect_uri_required_with_several_registered() -> None:
    with pytest.raises(RedirectUriMismatch) as info:
        match_redirect_uri(["https://app.example/cb", "https://app.example/cb2"], None)
    assert "redirect_uri" in info.value.description


def test_mismatch_is_never_redirectable() -> None:
    with pytest.raises(RedirectUriMismatch) as info:
        match_redirect_uri([], "https://app.example/cb")
    assert info.value.redirectable is False
    error = info.value.as_oauth_error()
    assert isinstance(error, InvalidRequestError)
    assert error.to_dict()["error"] == "invalid_request"


def test_is_loopback_redirect() -> None:
    assert is_loopback_redirect("http://localhost:3030/cb")
    assert is_loopback_redirect("http://[::1]/cb")
    assert not is_loopback_redirect("https://localhost/cb")
    assert not is_loopback_redirect("http://127.0.0.1.nip.io/cb")
