"""A token bucket that spreads a fan-out of requests under one global rate.

Discord allows 50 REST requests per second per bot, across everything it does; the daily post,
notifications and the Discord transport share one `TokenBucket`:

    async with limiter:          # or: await limiter.acquire()
        await outbound.post(...)

In any interval of t seconds at most `burst + rate * t` acquisitions succeed, so `rate=45,
burst=5` never puts more than 50 requests in any one-second window. Waiters are served in
arrival order (one waiter sleeps at a time while holding the lock), so no task starves.

Several processes share one bot token, hence one global limit. They split it statically
(`share_of`): a process running a fraction s of the shards gets a bucket whose one-second budget
`burst_i + rate_i` is s x (burst + rate), less a margin of SPLIT_MARGIN. Summed over processes
whose shares add up to 1, no one second holds more than `burst + rate` requests (50 by default),
however their fan-outs overlap, with no coordination between the processes. The margin is for
what a bucket cannot see: a request leaves a little after its token was taken (its process busy
with something else), so requests arrive bunched, a little over a bucket's budget in some
second; one process's bunching is within its own budget's rounding, but several processes'
add up (without it, three processes at 45/s + 5 were seen at 51 in a second).
The cost: a process cannot borrow what an idle one leaves unused, so a fan-out of one process's
servers goes at its share of the rate.
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

    def charge(self, requests: int = 1) -> None:
        """Count requests that went out without waiting for a token (made by a library on its own,
        such as logging in): the next acquisitions wait until the rate has paid for them too."""
        self._refill()
        self._tokens -= requests

    async def __aenter__(self) -> TokenBucket:
        await self.acquire()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        return None


# The part of its share a process among several leaves unused (see the module's docstring).
SPLIT_MARGIN = 0.1


def share_of(rate: float, burst: int, share: float) -> tuple[float, int]:
    """The (rate, burst) of a process that owns `share` (0 < share <= 1) of the global budget
    `rate` per second with `burst`: `rate_i + burst_i == share * (rate + burst) * (1 - SPLIT_MARGIN)`,
    so the shares' one-second budgets add up to less than the global one. A process with every
    shard (share 1) has the whole budget. The burst is the share of the burst rounded down, at
    least 1; ValueError when the share leaves less than that (too many processes for the budget)."""
    if not 0 < share <= 1:
        raise ValueError(f"a process's share of the rate limit must be above 0 and at most 1, got {share:g}")
    if share == 1:
        return float(rate), burst
    budget = share * (rate + burst) * (1 - SPLIT_MARGIN)
    own_burst = max(1, int(share * burst))
    own_rate = budget - own_burst
    if own_rate <= 0:
        raise ValueError(f"a {share:.3g} share of {rate:g} requests/s with burst {burst} leaves this process "
                         f"{budget:.2f} requests a second, too few to send at all; run fewer processes or "
                         "give each more shards")
    return own_rate, own_burst
