"""The shared token bucket: never more than burst + rate x t requests in any t seconds."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.ratelimit import SPLIT_MARGIN, TokenBucket, share_of


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


@pytest.mark.parametrize("shares", [[1 / 3] * 3, [3 / 9, 2 / 9, 4 / 9], [1 / 8] * 8, [1 / 2, 1 / 4, 1 / 4], [1.0]])
@pytest.mark.parametrize(("rate", "burst"), [(45.0, 5), (50.0, 1), (30.0, 20)])
def test_the_processes_shares_add_up_to_the_global_budget(shares: list[float], rate: float, burst: int) -> None:
    """Each process's one-second budget (burst + rate) is its share of the global one, so however
    the processes' fan-outs line up, no second holds more than the global burst + rate."""
    split = [share_of(rate, burst, s) for s in shares]
    total = sum(r + b for r, b in split)
    if shares == [1.0]:
        assert total == rate + burst
    else:  # less the margin for requests that leave a little late and arrive bunched
        assert total == pytest.approx((rate + burst) * (1 - SPLIT_MARGIN))
    assert all(r > 0 and b >= 1 for r, b in split)
    assert share_of(rate, burst, 1.0) == (rate, burst)


async def test_requests_charged_outside_the_bucket_delay_the_next_ones() -> None:
    clock = FakeTime()
    bucket = TokenBucket(10.0, 2, clock=clock, sleep=clock.sleep)
    bucket.charge(3)  # logging in: three requests nobody waited for
    stamps = []
    for _ in range(3):
        await bucket.acquire()
        stamps.append(clock.now)
    # 2 - 3 = -1 token: the first acquisition owes 2, i.e. 0.2 s; then one every 0.1 s.
    assert stamps == [pytest.approx(0.2), pytest.approx(0.3), pytest.approx(0.4)]


def test_a_share_too_small_to_send_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="too few to send at all"):
        share_of(45.0, 5, 1 / 64)
    with pytest.raises(ValueError, match="above 0 and at most 1"):
        share_of(45.0, 5, 0)
