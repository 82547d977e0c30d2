"""The claim vocabulary of issued tokens (issue 4 item 2; RFC 8693 §4.1) and the response."""

from __future__ import annotations

import pytest

from warden.oauth.issuance import TokenResponse, actor_type, subject_claims
from warden.oauth.model import Client, Grant


def client(kind: str) -> Client:
    return Client(
        client_id=f"{kind}_1",
        origin="static",
        kind=kind,  # type: ignore[arg-type]
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=(),
        grant_types=(),
    )


def grant(user_id: str | None = "usr_alice") -> Grant:
    return Grant(
        grant_id="grt_1",
        client_id="x",
        user_id=user_id,
        scope="read:calendar",
        resources=(),
        created_at=0,
        expires_at=1,
        auth_time=1_799_999_999.5,
    )


@pytest.mark.parametrize(
    ("kind", "presenter", "has_act"),
    [("agent", "agent", True), ("app", "human", False), ("service", "service", True)],
)
def test_user_grant_claims(kind: str, presenter: str, has_act: bool) -> None:
    sub, claims = subject_claims(client(kind), grant())
    assert sub == "usr_alice"
    assert claims["actor_type"] == presenter
    assert claims["auth_time"] == 1_799_999_999
    assert ("act" in claims) is has_act
    if has_act:
        assert claims["act"] == {"sub": f"{kind}_1"}


@pytest.mark.parametrize(
    ("kind", "presenter"), [("agent", "agent"), ("service", "service"), ("app", "service")]
)
def test_sec_40_client_acting_as_itself(kind: str, presenter: str) -> None:
    for no_user in (None, grant(user_id=None)):
        sub, claims = subject_claims(client(kind), no_user)
        assert sub == f"{kind}_1"
        assert claims == {"actor_type": presenter}


def test_actor_type_vocabulary() -> None:
    assert {
        actor_type(client(k), for_user=u)
        for k in ("agent", "app", "service")
        for u in (True, False)
    } == {
        "agent",
        "human",
        "service",
    }


def test_response_omits_empty_scope_and_absent_refresh_token() -> None:
    assert TokenResponse("at", 600, "").to_dict() == {
        "access_token": "at",
        "token_type": "Bearer",
        "expires_in": 600,
    }
    full = TokenResponse("at", 600, "a b", refresh_token="rt").to_dict()
    assert full["scope"] == "a b" and full["refresh_token"] == "rt"
