"""Token exchange rules on validated claims (RFC 8693 §4.1, §4.4; SEC-95, SEC-97, SEC-98)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from warden.errors import InvalidRequestError
from warden.oauth.exchange import (
    PresentedToken,
    check_may_act,
    check_whose,
    next_actors,
)
from warden.oauth.issuance import Subject, act_claim, seconds_left
from warden.oauth.model import Client, Grant

ISSUER = "https://warden.test"


def client(client_id: str = "rs_1", kind: str = "agent") -> Client:
    return Client(
        client_id=client_id,
        origin="static",
        kind=kind,  # type: ignore[arg-type]
        token_endpoint_auth_method="client_secret_basic",
        redirect_uris=(),
        grant_types=(),
    )


def token(**overrides: Any) -> PresentedToken:
    values: dict[str, Any] = {
        "sub": "usr_alice",
        "client_id": "agent_1",
        "audience": ("https://rs.example/mcp",),
        "scope": frozenset({"read:calendar"}),
        "expires_at": 1_800_000_600,
        "jti": "j1",
        "grant_id": "g1",
        "actors": ({"sub": "agent_1"},),
        "may_act": None,
    }
    values.update(overrides)
    return PresentedToken(**values)


def grant(actor_chain: tuple[dict[str, Any], ...] = ()) -> Grant:
    return Grant(
        grant_id="g1",
        client_id="rs_1",
        user_id="usr_alice",
        scope="read:calendar",
        resources=(),
        created_at=0,
        expires_at=1,
        actor_chain=actor_chain,
        auth_time=10.5,
    )


def test_act_claim_nests_the_earlier_actors() -> None:
    assert act_claim(()) is None
    assert act_claim(({"sub": "agent-1"},)) == {"sub": "agent-1"}
    assert act_claim(({"sub": "agent-2"}, {"sub": "agent-1"})) == {
        "sub": "agent-2",
        "act": {"sub": "agent-1"},
    }


@pytest.mark.parametrize(
    ("kind", "presenter"), [("agent", "agent"), ("service", "service"), ("app", "service")]
)
def test_a_delegated_grant_names_its_chain(kind: str, presenter: str) -> None:
    chain = ({"sub": "rs_1"}, {"sub": "agent_1"})
    subject = Subject.of(client(kind=kind), grant(chain))
    assert subject.sub == "usr_alice"
    assert subject.claims() == {
        "actor_type": presenter,
        "act": {"sub": "rs_1", "act": {"sub": "agent_1"}},
        "auth_time": 10,
    }


def test_a_new_actor_goes_in_front() -> None:
    assert next_actors(token(), "rs_1", max_depth=3) == ({"sub": "rs_1"}, {"sub": "agent_1"})


def test_the_tokens_own_client_adds_no_hop() -> None:
    assert next_actors(token(), "agent_1", max_depth=1) == ({"sub": "agent_1"},)
    assert next_actors(token(actors=()), "agent_1", max_depth=1) == ()


def test_sec_97_chain_depth_is_bounded() -> None:
    deep = token(actors=({"sub": "b"}, {"sub": "a"}))
    assert len(next_actors(deep, "c", max_depth=3)) == 3
    with pytest.raises(InvalidRequestError):
        next_actors(deep, "c", max_depth=2)


@pytest.mark.parametrize(
    ("presented", "serves"),
    [
        (token(client_id="rs_1"), ()),
        (token(audience=("rs_1",)), ()),
        (token(), ("https://rs.example/mcp/",)),
        (
            token(audience=("https://other.example", "https://rs.example/mcp")),
            ("https://rs.example/mcp",),
        ),
    ],
)
def test_sec_95_whose_token_accepted(presented: PresentedToken, serves: tuple[str, ...]) -> None:
    check_whose(presented, client(), serves)


@pytest.mark.parametrize(
    ("presented", "serves"),
    [
        (token(), ()),
        (token(), ("https://rs.example/other",)),
        (token(sub="agent_1", actors=(), audience=("rs_1",)), ()),
    ],
)
def test_sec_95_whose_token_refused(presented: PresentedToken, serves: tuple[str, ...]) -> None:
    with pytest.raises(InvalidRequestError):
        check_whose(presented, client(), serves)


def test_a_client_acting_as_itself_exchanges_its_own_token_only() -> None:
    own = token(sub="rs_1", client_id="rs_1", actors=())
    assert own.is_client_itself
    check_whose(own, client(), ())
    with pytest.raises(InvalidRequestError):
        check_whose(own, client("rs_2"), ("https://rs.example/mcp",))


def test_sec_98_may_act() -> None:
    check_may_act(token(), "anyone", ISSUER)
    allowed = token(may_act={"sub": "rs_1"})
    check_may_act(allowed, "rs_1", ISSUER)
    check_may_act(replace(allowed, may_act={"sub": "rs_1", "iss": ISSUER}), "rs_1", ISSUER)
    for may_act in ({"sub": "rs_2"}, {"sub": "rs_1", "iss": "https://other.example"}, {}):
        with pytest.raises(InvalidRequestError):
            check_may_act(token(may_act=may_act), "rs_1", ISSUER)


def test_seconds_left_never_lets_exp_pass_not_after() -> None:
    assert seconds_left(1_000, 940.0) == 60
    assert seconds_left(1_000, 940.2) == 59
    assert seconds_left(1_000, 999.5) == 0
    now = 940.2
    assert int(now) + seconds_left(1_000, now) <= 1_000
