"""The shared token bucket: never more than burst + rate x t requests in any t seconds."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.ratelimit import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(("rate", "burst"), [(45.0, 5), (50.0, 1), (10.0, 3)])
async def test_a_fan_out_stays_under_the_rate_in_every_window(rate: float, burst: int) -> None:
    clock = FakeTime()
    bucket = TokenBucket(rate, burst, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []

    async def send() -> None:
        async with bucket:
            stamps.append(clock.now)

    await asyncio.gather(*(send() for _ in range(300)))
    assert len(stamps) == 300
    for i, start in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t < start + 1.0 - 1e-9)
        assert in_window <= burst + rate
    # And it is not needlessly slow: the last request goes out when the rate allows it.
    assert stamps[-1] == pytest.approx((300 - burst) / rate)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (10, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)
