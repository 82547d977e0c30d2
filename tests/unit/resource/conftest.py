"""Fixtures for the resource-library tests: a frozen clock, a fake issuer, a verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from tests.unit.resource.support import ISSUER, NOW, RESOURCE, FakeAuthorizationServer

from warden.clock import FrozenClock
from warden.resource import TokenVerifier


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def issuer(clock: FrozenClock) -> FakeAuthorizationServer:
    return FakeAuthorizationServer(clock=clock)


@pytest.fixture
async def http(issuer: FakeAuthorizationServer) -> AsyncIterator[httpx.AsyncClient]:
    async with issuer.http() as client:
        yield client


@pytest.fixture
def verifier(http: httpx.AsyncClient, clock: FrozenClock) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, resource=RESOURCE, http=http, clock=clock)
