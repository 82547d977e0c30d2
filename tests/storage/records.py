"""What the storage contract tests share: a fixed time, units of work, races and records."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from warden.oauth.model import AuthorizationCode, Grant, RefreshToken
from warden.storage.engine import Database
from warden.storage.repositories import SqlStores

T = TypeVar("T")
NOW = 1_800_000_000.0
CONCURRENT = 20


async def in_uow(db: Database, action: Callable[[SqlStores], Awaitable[T]]) -> T:
    """Run ``action`` in its own unit of work, as one request would."""
    async with db.unit_of_work() as stores:
        return await action(stores)


async def race(db: Database, attempt: Callable[[SqlStores], Awaitable[bool]]) -> list[bool]:
    """``CONCURRENT`` attempts at once, each in its own unit of work (its own transaction)."""
    return list(await asyncio.gather(*(in_uow(db, attempt) for _ in range(CONCURRENT))))


def make_grant(grant_id: str = "g1", **overrides: Any) -> Grant:
    grant = Grant(
        grant_id=grant_id,
        client_id="c1",
        user_id="u1",
        scope="read:calendar",
        resources=("https://mcp.example/",),
        created_at=NOW,
        expires_at=NOW + 3600,
    )
    return replace(grant, **overrides)


def make_code(code_hash: str = "h1", **overrides: Any) -> AuthorizationCode:
    code = AuthorizationCode(
        code_hash=code_hash,
        client_id="c1",
        user_id="u1",
        grant_id="g1",
        redirect_uri="http://127.0.0.1/cb",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
        scope="read:calendar",
        resources=("https://mcp.example/",),
        auth_time=NOW,
        expires_at=NOW + 60,
    )
    return replace(code, **overrides)


def make_refresh(token_hash: str = "r1", **overrides: Any) -> RefreshToken:
    token = RefreshToken(
        token_hash=token_hash,
        grant_id="g1",
        client_id="c1",
        scope="read:calendar",
        resources=("https://mcp.example/",),
        issued_at=NOW,
        expires_at=NOW + 86400,
    )
    return replace(token, **overrides)
