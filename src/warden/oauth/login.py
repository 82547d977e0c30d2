"""Signing in on the authorization page (OAuth 2.1 §7.7; SEC-73).

Attempts are rate limited per (account, IP) and per IP, with a softer ceiling per account
across all IPs, so that guessing is slow while an attacker elsewhere cannot lock the person
out. Every attempt counts, before the password is checked, so a right guess after the limit
is refused like a wrong one. An unknown user and a wrong password look the same: one generic
answer, one argon2id verification (SEC-112).
"""

from __future__ import annotations

from typing import Protocol

from warden.errors import TooManyRequestsError
from warden.oauth.authorize import AuthorizeEnv
from warden.oauth.model import AuditEvent, User
from warden.oauth.ports import Stores
from warden.oauth.users import InvalidUsernameError, Passwords, authenticate, normalise_username
from warden.policy.ratelimit import RateLimiter

__all__ = ["SignInEnv", "sign_in"]


class SignInEnv(AuthorizeEnv, Protocol):
    limiter: RateLimiter
    passwords: Passwords


async def _check_rate_limits(env: SignInEnv, account: str, ip: str) -> None:
    """:raises TooManyRequestsError: once any of the three budgets is spent."""
    login = env.settings.login
    account_key = env.hasher.digest(f"login-account:{account}")[:32]
    budgets = (
        (f"login:ip:{ip}", login.attempts_per_ip),
        (f"login:account-ip:{account_key}:{ip}", login.attempts_per_account_and_ip),
        (f"login:account:{account_key}", login.attempts_per_account),
    )
    waits = []
    for key, limit in budgets:
        decision = await env.limiter.hit(key, limit=limit, window_seconds=login.window_seconds)
        if not decision.allowed:
            waits.append(decision.retry_after_seconds)
    if waits:
        raise TooManyRequestsError(max(waits), "Too many sign-in attempts; try again later")


def _account(username: str) -> str:
    try:
        return normalise_username(username)
    except InvalidUsernameError:
        return username[:128]


async def sign_in(
    username: str,
    password: str,
    *,
    env: SignInEnv,
    stores: Stores,
    client_id: str | None,
    actor_type: str | None,
    source: str | None,
) -> User | None:
    """The user, or None for any wrong credentials; audited either way.

    :raises TooManyRequestsError: a rate limit was hit (checked before the password).
    """
    account = _account(username)
    await _check_rate_limits(env, account, source or "unknown")
    user = await authenticate(stores.users, username, password, passwords=env.passwords)
    await stores.audit.record(
        AuditEvent(
            event="login.succeeded" if user else "login.failed",
            at=env.clock.now(),
            client_id=client_id,
            user_id=user.user_id if user else None,
            actor_type=actor_type,
            source=source,
        )
    )
    return user
