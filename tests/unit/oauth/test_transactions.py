"""The sealed authorization transaction: round trip, CSRF, session binding."""

from __future__ import annotations

import hmac
from unittest import mock

import pytest

from warden.oauth.authorize import AuthorizationRequest, ClientRedirect
from warden.oauth.transactions import DeferredError, Transaction, is_transaction_id

REDIRECT = ClientRedirect("app", "https://app.example/cb", "st<a>te")
REQUEST = AuthorizationRequest(
    redirect=REDIRECT,
    scopes=frozenset({"read:calendar", "offline_access"}),
    resources=("https://rs.example/mcp",),
    code_challenge="c" * 43,
    prompt=frozenset({"consent"}),
)


@pytest.mark.parametrize(
    "pending", [REQUEST, DeferredError(REDIRECT, "invalid_scope", "Unknown scope: x")]
)
def test_round_trip(pending: AuthorizationRequest | DeferredError) -> None:
    transaction = Transaction.start(pending, session_hash="h" * 64)
    assert Transaction.from_dict(transaction.to_dict()) == transaction
    assert transaction.redirect == REDIRECT


def test_state_may_be_absent() -> None:
    pending = DeferredError(ClientRedirect("app", "https://app.example/cb", None), "x", None)
    transaction = Transaction.start(pending)
    assert Transaction.from_dict(transaction.to_dict()) == transaction


@pytest.mark.parametrize(
    "broken",
    [{}, {"txn": "t", "csrf": "c", "sid": None, "client_id": 1, "redirect_uri": "u", "state": 2}],
)
def test_malformed_data_raises(broken: dict[str, object]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        Transaction.from_dict(broken)


def test_ids_and_tokens_are_random() -> None:
    a, b = Transaction.start(REQUEST), Transaction.start(REQUEST)
    assert a.txn != b.txn and a.csrf_token != b.csrf_token
    assert is_transaction_id(a.txn)
    assert not is_transaction_id("short") and not is_transaction_id("bad/chars" * 3)


def test_sec_111_csrf_is_compared_in_constant_time() -> None:
    transaction = Transaction.start(REQUEST)
    with mock.patch.object(hmac, "compare_digest", wraps=hmac.compare_digest) as spy:
        assert transaction.check_csrf(transaction.csrf_token)
        assert not transaction.check_csrf("wrong")
    assert spy.call_count == 2
    assert not transaction.check_csrf(None)


def test_sec_66_binding_to_a_session_rotates_the_csrf_token() -> None:
    transaction = Transaction.start(REQUEST)
    assert not transaction.bound_to("s1")
    bound = transaction.bind("s1")
    assert bound.txn == transaction.txn
    assert bound.csrf_token != transaction.csrf_token
    assert bound.bound_to("s1") and not bound.bound_to("s2") and not bound.bound_to(None)
    assert not bound.bind(None).bound_to("s1")
