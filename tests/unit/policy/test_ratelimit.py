"""Rate limiter backends: the same contract in memory and in Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from warden.clock import FrozenClock
from warden.policy.ratelimit import (
    MemoryRateLimiter,
    RateDecision,
    RateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
)
from warden.settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/0"

# Window-aligned start: 1_800_000_000 is a multiple of 60 and 3600.
START = 1_800_000_000.0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter(clock)
        return
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"warden-test-{secrets.token_hex(6)}:"
    yield RedisRateLimiter(client, clock=clock, prefix=prefix)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_allows_up_to_the_limit_then_refuses(limiter: RateLimiter) -> None:
    decisions = [await limiter.hit("k", limit=3, window_seconds=60) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[0] == RateDecision(allowed=True, retry_after_seconds=0)


async def test_retry_after_is_the_time_left_in_the_window(
    limiter: RateLimiter, clock: FrozenClock
) -> None:
    clock.advance(15.2)
    await limiter.hit("k", limit=1, window_seconds=60)
    refused = await limiter.hit("k", limit=1, window_seconds=60)
    assert refused == RateDecision(allowed=False, retry_after_seconds=45)


async def test_retry_after_is_at_least_one_second(limiter: RateLimiter, clock: FrozenClock) -> None:
    clock.advance(59.9)
    await limiter.hit("k", limit=0, window_seconds=60)
    refused = await limiter.hit("k", limit=0, window_seconds=60)
    assert refused.retry_after_seconds == 1


async def test_a_new_window_starts_afresh(limiter: RateLimiter, clock: FrozenClock) -> None:
    for _ in range(2):
        await limiter.hit("k", limit=1, window_seconds=60)
    clock.advance(60)
    assert (await limiter.hit("k", limit=1, window_seconds=60)).allowed


async def test_keys_and_window_lengths_are_separate_budgets(limiter: RateLimiter) -> None:
    await limiter.hit("a", limit=1, window_seconds=60)
    assert (await limiter.hit("b", limit=1, window_seconds=60)).allowed
    assert (await limiter.hit("a", limit=1, window_seconds=3600)).allowed
    assert not (await limiter.hit("a", limit=1, window_seconds=60)).allowed


async def test_memory_evicts_expired_buckets_when_full(clock: FrozenClock) -> None:
    limiter = MemoryRateLimiter(clock, max_buckets=10)
    for i in range(10):
        await limiter.hit(f"old-{i}", limit=5, window_seconds=60)
    clock.advance(60)
    await limiter.hit("new", limit=5, window_seconds=60)
    assert len(limiter) == 1


async def test_memory_stays_bounded_under_a_flood_of_live_keys(clock: FrozenClock) -> None:
    limiter = MemoryRateLimiter(clock, max_buckets=100)
    for i in range(1000):
        await limiter.hit(f"k-{i}", limit=5, window_seconds=60)
    assert len(limiter) <= 100
    # The newest key is still counted.
    assert not (await limiter.hit("k-999", limit=1, window_seconds=60)).allowed


@pytest.mark.redis
async def test_redis_counts_are_shared_between_nodes(
    clock: FrozenClock, redis_client: aioredis.Redis
) -> None:
    prefix = f"warden-test-{secrets.token_hex(6)}:"
    node_a = RedisRateLimiter(redis_client, clock=clock, prefix=prefix)
    node_b = RedisRateLimiter(REDIS_URL, clock=clock, prefix=prefix)
    try:
        assert (await node_a.hit("k", limit=2, window_seconds=60)).allowed
        assert (await node_b.hit("k", limit=2, window_seconds=60)).allowed
        assert not (await node_a.hit("k", limit=2, window_seconds=60)).allowed
    finally:
        await node_b.aclose()
        keys = [k async for k in redis_client.scan_iter(match=f"{prefix}*")]
        await redis_client.delete(*keys)


@pytest.mark.redis
async def test_redis_counters_expire(clock: FrozenClock, redis_client: aioredis.Redis) -> None:
    prefix = f"warden-test-{secrets.token_hex(6)}:"
    limiter = RedisRateLimiter(redis_client, clock=clock, prefix=prefix)
    await limiter.hit("k", limit=2, window_seconds=60)
    [key] = [k async for k in redis_client.scan_iter(match=f"{prefix}*")]
    assert 0 < await redis_client.ttl(key) <= 61
    await redis_client.delete(key)


async def test_redis_outage_falls_back_to_memory(clock: FrozenClock) -> None:
    # Nothing listens on port 1: every Redis call fails at once.
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", clock=clock)
    try:
        assert (await limiter.hit("k", limit=1, window_seconds=60)).allowed
        assert not (await limiter.hit("k", limit=1, window_seconds=60)).allowed
    finally:
        await limiter.aclose()


def test_make_rate_limiter_chooses_by_settings(clock: FrozenClock) -> None:
    assert isinstance(make_rate_limiter(Settings(), clock), MemoryRateLimiter)
    chosen = make_rate_limiter(Settings(redis_url=REDIS_URL), clock)
    assert isinstance(chosen, RedisRateLimiter)
