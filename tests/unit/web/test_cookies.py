"""Transaction cookies: sealed, bound to their name, expiring; names per issuer scheme."""

from __future__ import annotations

from warden.clock import FrozenClock
from warden.oauth.authorize import AuthorizationRequest, ClientRedirect
from warden.oauth.transactions import Transaction
from warden.settings import Settings
from warden.web.cookies import Cookies, TransactionSealer

MASTER = b"m" * 48
REQUEST = AuthorizationRequest(
    redirect=ClientRedirect("app", "https://app.example/cb", "state"),
    scopes=frozenset({"read:calendar"}),
    resources=(),
    code_challenge="c" * 43,
)


def test_seal_and_unseal() -> None:
    clock = FrozenClock()
    sealer = TransactionSealer(MASTER, clock, ttl_seconds=600)
    transaction = Transaction.start(REQUEST)
    value = sealer.seal(transaction)
    assert "=" not in value and "read:calendar" not in value
    assert sealer.unseal(transaction.txn, value) == transaction


def test_unseal_refuses_other_names_tampering_keys_and_age() -> None:
    clock = FrozenClock()
    sealer = TransactionSealer(MASTER, clock, ttl_seconds=600)
    transaction = Transaction.start(REQUEST)
    value = sealer.seal(transaction)
    assert sealer.unseal("another-transaction-id", value) is None
    assert sealer.unseal(transaction.txn, value[:-3] + "AAA") is None
    assert sealer.unseal(transaction.txn, None) is None
    assert TransactionSealer(b"x" * 48, clock, 600).unseal(transaction.txn, value) is None
    clock.advance(601)
    assert sealer.unseal(transaction.txn, value) is None


def test_https_issuer_uses_host_prefixed_secure_cookies() -> None:
    cookies = Cookies(Settings(issuer="https://as.example/tenant", secret_key="k" * 40))
    assert cookies.session == "__Host-warden-session"
    assert cookies.transaction("abc") == "__Host-warden-txn-abc"


def test_development_issuer_uses_plain_cookies() -> None:
    cookies = Cookies(Settings(issuer="http://127.0.0.1:8000", secret_key="k" * 40))
    assert cookies.session == "warden-session"
    assert cookies.transaction("abc") == "warden-txn-abc"
