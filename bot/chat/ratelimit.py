"""A token bucket that spreads a fan-out of requests under one global rate.

Discord allows 50 REST requests per second per bot, across everything it does; the daily post,
notifications and the Discord transport share one `TokenBucket`:

    async with limiter:          # or: await limiter.acquire()
        await outbound.post(...)

In any interval of t seconds at most `burst + rate * t` acquisitions succeed, so `rate=45,
burst=5` never puts more than 50 requests in any one-second window. Waiters are served in
arrival order (one waiter sleeps at a time while holding the lock), so no task starves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType


class TokenBucket:
    def __init__(self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        """Wait until a request may go out, and count it."""
        async with self._lock:
            self._refill()
            self._tokens -= 1.0
            if self._tokens < 0:
                # Sleep off the debt once (no re-check loop: float rounding cannot make it spin);
                # the next waiter's refill counts the time slept.
                await self._sleep(-self._tokens / self.rate)

    async def __aenter__(self) -> TokenBucket:
        await self.acquire()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        return None
