"""Rate limits for credential-bearing endpoints (SEC-47, SEC-59, SEC-116).

A limit is "at most ``limit`` hits per ``window_seconds`` for one key", counted in fixed
windows aligned to the epoch (``floor(now / window)``). Fixed windows let a client spend up
to twice the limit across a window boundary; in exchange every hit is one atomic counter
increment, the memory per key is two numbers, and ``Retry-After`` is exact (the time until
the window ends), which is what RFC 6585 §4 clients act on.

Two backends share the :class:`RateLimiter` protocol:

- :class:`MemoryRateLimiter`: one process (a single worker, tests). Memory is bounded:
  expired windows are swept, and past ``max_buckets`` the oldest keys are dropped.
- :class:`RedisRateLimiter`: counters shared by every node through Redis (``INCR`` plus
  ``EXPIRE`` in one Lua script). If Redis is unreachable it counts in process memory
  rather than failing every request or failing open.

Keys are chosen by the caller and name the budget, for example ``register:ip:203.0.113.7``
or ``cimd:host:client.example``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from warden.clock import Clock
from warden.settings import Settings

__all__ = [
    "MemoryRateLimiter",
    "RateDecision",
    "RateLimiter",
    "RedisRateLimiter",
    "make_rate_limiter",
]

log = logging.getLogger("warden.ratelimit")


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of one hit. ``retry_after_seconds`` is 0 when allowed."""

    allowed: bool
    retry_after_seconds: int


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        """Count one hit against ``key``; allowed while at most ``limit`` hits in the window."""
        ...

    async def aclose(self) -> None:
        """Release connections (called on application shutdown)."""
        ...


def _window(now: float, window_seconds: int) -> tuple[int, int]:
    """The current window's index and the whole seconds until it ends (at least 1)."""
    index = math.floor(now / window_seconds)
    remaining = (index + 1) * window_seconds - now
    return index, max(1, math.ceil(remaining))


def _decide(count: int, limit: int, remaining: int) -> RateDecision:
    if count <= limit:
        return RateDecision(allowed=True, retry_after_seconds=0)
    return RateDecision(allowed=False, retry_after_seconds=remaining)


class MemoryRateLimiter:
    """Fixed-window counters in this process's memory."""

    def __init__(self, clock: Clock, *, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._max_buckets = max_buckets
        # (key, window length) → (window index, hits, window end); insertion-ordered.
        self._buckets: dict[tuple[str, int], tuple[int, int, float]] = {}

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = self._clock.now()
        index, remaining = _window(now, window_seconds)
        bucket_key = (key, window_seconds)
        bucket = self._buckets.get(bucket_key)
        count = bucket[1] + 1 if bucket is not None and bucket[0] == index else 1
        if bucket is None:
            self._make_room(now)
        self._buckets[bucket_key] = (index, count, (index + 1) * window_seconds)
        return _decide(count, limit, remaining)

    def _make_room(self, now: float) -> None:
        """Keep memory bounded: sweep expired windows, then drop the oldest keys.

        Sweeping frees at least a tenth of the table each time, so the cost stays amortised
        O(1) per hit even under a flood of distinct keys.
        """
        if len(self._buckets) < self._max_buckets:
            return
        self._buckets = {k: b for k, b in self._buckets.items() if b[2] > now}
        excess = len(self._buckets) - self._max_buckets * 9 // 10
        if excess > 0:
            # Dropping live buckets forgets their hits; only a flood of distinct keys gets here.
            for stale in list(self._buckets)[:excess]:
                del self._buckets[stale]

    def __len__(self) -> int:
        return len(self._buckets)

    async def aclose(self) -> None:
        return None


# Atomic: the first hit of a window sets its expiry, so a crash between the two never leaves
# a counter without one.
_INCR_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisRateLimiter:
    """Fixed-window counters in Redis, shared by every Warden node."""

    def __init__(
        self,
        redis: str | aioredis.Redis,
        *,
        clock: Clock,
        prefix: str = "warden:",
    ) -> None:
        self._owns_client = isinstance(redis, str)
        self._redis: aioredis.Redis = (
            aioredis.Redis.from_url(redis, socket_timeout=1.0, socket_connect_timeout=1.0)
            if isinstance(redis, str)
            else redis
        )
        self._prefix = f"{prefix}ratelimit:"
        self._clock = clock
        self._script: Any = self._redis.register_script(_INCR_SCRIPT)
        self._fallback = MemoryRateLimiter(clock)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        index, remaining = _window(self._clock.now(), window_seconds)
        redis_key = f"{self._prefix}{window_seconds}:{index}:{key}"
        try:
            count = int(await self._script(keys=[redis_key], args=[window_seconds + 1]))
        except RedisError as exc:
            log.warning("redis unavailable for rate limits, counting in memory: %s", exc)
            return await self._fallback.hit(key, limit=limit, window_seconds=window_seconds)
        return _decide(count, limit, remaining)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._redis.aclose()


def make_rate_limiter(settings: Settings, clock: Clock) -> RateLimiter:
    """Redis when ``settings.redis_url`` is set (several nodes), else process memory."""
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, clock=clock, prefix=settings.redis_prefix)
    return MemoryRateLimiter(clock)
