"""The principal handed to handlers: delegation chain, actor type, kind, scope checks."""

from __future__ import annotations

from typing import Any

import pytest

from warden.resource import InsufficientScopeError, Principal, require_scopes
from warden.resource.principal import actor_type_of, delegation_chain


def principal(**overrides: Any) -> Principal:
    values: dict[str, Any] = {
        "subject": "usr_alice",
        "client_id": "agent-1",
        "scopes": frozenset({"read:calendar", "write:email:draft-only-no-send"}),
        "audience": ("https://rs.example/mcp",),
        "issuer": "https://as.example",
        "expires_at": 1_800_000_300,
        "actor_type": "agent",
        "token": "secret.token.value",
    }
    values.update(overrides)
    return Principal(**values)


def test_require_scopes_passes_with_broader_scope() -> None:
    require_scopes(principal(), "read:calendar:next-7-days", "write:email:draft-only-no-send")


def test_require_scopes_names_every_needed_scope() -> None:
    with pytest.raises(InsufficientScopeError) as raised:
        require_scopes(principal(), "read:calendar", "write:email:send")

    assert raised.value.scopes == {"read:calendar", "write:email:send"}


def test_sec_88_repr_never_shows_the_token() -> None:
    p = principal(claims={"scope": "x"})

    assert "secret.token.value" not in repr(p)
    assert "secret.token.value" not in str(p)


def test_delegation_chain_is_flattened_outermost_first() -> None:
    act = {"sub": "agent-2", "client_id": "c2", "act": {"sub": "agent-1", "act": {"sub": "svc"}}}

    chain = delegation_chain(act)

    assert chain is not None
    assert [a.subject for a in chain] == ["agent-2", "agent-1", "svc"]
    assert chain[0].client_id == "c2"
    assert "act" not in chain[0].claims
    p = principal(delegation_chain=chain)
    assert p.actor is chain[0]


@pytest.mark.parametrize(
    "act", [{"client_id": "x"}, {"sub": ""}, {"sub": 3}, "agent", {"sub": "a", "act": []}]
)
def test_malformed_act_is_refused(act: object) -> None:
    assert delegation_chain(act) is None


def test_absurdly_deep_delegation_is_refused() -> None:
    act: dict[str, Any] = {"sub": "a0"}
    for n in range(1, 40):
        act = {"sub": f"a{n}", "act": act}

    assert delegation_chain(act) is None


def test_actor_type_claim_wins_and_falls_back() -> None:
    chain = delegation_chain({"sub": "agent-1"})
    assert chain is not None

    assert actor_type_of("service", "usr_a", "c", chain) == "service"
    assert actor_type_of(None, "usr_a", "c", chain) == "agent"
    assert actor_type_of("robot", "usr_a", "c", ()) == "human"
    assert actor_type_of(None, "c", "c", ()) == "service"


def test_sec_87_client_acting_as_itself_is_never_a_user() -> None:
    client = principal(subject="agent-1", actor_type="service")
    user = principal()

    assert client.kind == "client"
    assert client.user_id is None
    assert user.kind == "user"
    assert user.user_id == "usr_alice"
    assert user.is_agent
