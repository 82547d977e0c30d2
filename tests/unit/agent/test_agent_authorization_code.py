"""The authorization request and response: PKCE S256, state, resource, RFC 9207 iss (C5, C8,
C9)."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from agent_support import ISSUER, REDIRECT_URI, RESOURCE

from warden.agent.authorization_code import authorization_url, read_authorization_response
from warden.agent.discovery import ServerMetadata
from warden.agent.errors import AuthorizationError
from warden.agent.flow import FlowContext
from warden.agent.pkce import s256_challenge
from warden.agent.registration import ClientCredentials
from warden.clock import FrozenClock

SERVER = ServerMetadata(
    issuer=ISSUER,
    token_endpoint=f"{ISSUER}/token",
    authorization_endpoint=f"{ISSUER}/authorize",
    code_challenge_methods_supported=("S256",),
    iss_parameter_supported=True,
)
STATE = "state-123"


def callback(**params: str) -> str:
    return f"{REDIRECT_URI}?{urlencode(params)}"


def read(url: str, server: ServerMetadata = SERVER) -> str:
    return read_authorization_response(url, redirect_uri=REDIRECT_URI, state=STATE, server=server)


def context(**server: str) -> FlowContext:
    return FlowContext(
        http=httpx.AsyncClient(),
        server=replace(SERVER, **server),
        client=ClientCredentials("agent_1"),
        resource=RESOURCE,
        scope="read write",
        clock=FrozenClock(),
    )


def test_authorization_request_parameters() -> None:
    url = authorization_url(
        context(), redirect_uri=REDIRECT_URI, state=STATE, code_verifier="v" * 43
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
    assert {k: v for k, (v,) in parse_qs(parts.query).items()} == {
        "response_type": "code",
        "client_id": "agent_1",
        "redirect_uri": REDIRECT_URI,
        "state": STATE,
        "code_challenge": s256_challenge("v" * 43),
        "code_challenge_method": "S256",
        "resource": RESOURCE,
        "scope": "read write",
    }


def test_authorization_endpoint_query_is_kept() -> None:
    ctx = context(authorization_endpoint=f"{ISSUER}/authorize?tenant=t1")
    url = authorization_url(ctx, redirect_uri=REDIRECT_URI, state=STATE, code_verifier="v" * 43)
    assert parse_qs(urlsplit(url).query)["tenant"] == ["t1"]


def test_rfc_7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_valid_response_gives_the_code() -> None:
    assert read(callback(code="c1", state=STATE, iss=ISSUER)) == "c1"


def test_loopback_redirect_may_carry_a_port() -> None:
    assert read(f"http://127.0.0.1:53682/callback?code=c1&state={STATE}&iss={ISSUER}") == "c1"


def test_c9_iss_mismatch_is_refused() -> None:
    with pytest.raises(AuthorizationError, match=re.escape("not 'https://as.test'")):
        read(callback(code="c1", state=STATE, iss="https://evil.test"))


@pytest.mark.parametrize("iss", [ISSUER + "/", "https://AS.test"])
def test_c9_iss_is_compared_as_a_plain_string(iss: str) -> None:
    with pytest.raises(AuthorizationError):
        read(callback(code="c1", state=STATE, iss=iss))


def test_c9_error_parameters_of_a_mismatched_iss_are_ignored() -> None:
    with pytest.raises(AuthorizationError) as refused:
        read(callback(error="access_denied", state=STATE, iss="https://evil.test"))
    assert refused.value.error is None


def test_c9_missing_iss_is_refused_when_the_server_promised_it() -> None:
    with pytest.raises(AuthorizationError, match="no iss"):
        read(callback(code="c1", state=STATE))


def test_missing_iss_is_accepted_when_the_server_never_sends_it() -> None:
    server = replace(SERVER, iss_parameter_supported=False)
    assert read(callback(code="c1", state=STATE), server) == "c1"


@pytest.mark.parametrize("state", [None, "other", "", STATE + "x"])
def test_c8_state_mismatch_is_refused(state: str | None) -> None:
    params = {"code": "c1", "iss": ISSUER} | ({"state": state} if state is not None else {})
    with pytest.raises(AuthorizationError, match="state"):
        read(callback(**params))


def test_c8_error_with_a_wrong_state_is_not_reported_as_the_servers() -> None:
    with pytest.raises(AuthorizationError) as refused:
        read(callback(error="access_denied", state="forged", iss=ISSUER))
    assert refused.value.error is None


def test_error_response_is_reported_with_its_code() -> None:
    with pytest.raises(AuthorizationError) as refused:
        read(callback(error="access_denied", error_description="No", state=STATE, iss=ISSUER))
    assert (refused.value.error, refused.value.description) == ("access_denied", "No")


def test_response_without_code_is_refused() -> None:
    with pytest.raises(AuthorizationError, match="no code"):
        read(callback(state=STATE, iss=ISSUER))


def test_repeated_parameters_are_refused() -> None:
    with pytest.raises(AuthorizationError, match="repeats"):
        read(f"{REDIRECT_URI}?code=a&code=b&state={STATE}&iss={ISSUER}")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.test/callback?code=c1",
        "http://127.0.0.1/other?code=c1",
        "https://127.0.0.1/callback?code=c1",
    ],
)
def test_response_elsewhere_than_the_redirect_uri_is_refused(url: str) -> None:
    with pytest.raises(AuthorizationError, match="redirect URI"):
        read(url)
