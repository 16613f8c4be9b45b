"""Requests in flight and the quiet moments background work waits for (bot/activity.py)."""

from __future__ import annotations

import asyncio

from bot.activity import Activity


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_request_in_flight_is_never_idle() -> None:
    clock = Clock()
    activity = Activity(clock)
    clock.now += 3
    assert activity.idle_for() == 3  # since it was made
    with activity.busy(), activity.busy():
        clock.now += 10
        assert (activity.in_flight, activity.idle_for()) == (2, 0.0)
    assert activity.in_flight == 0
    clock.now += 0.5
    assert activity.idle_for() == 0.5  # since the last one ended


def test_a_request_that_fails_still_ends() -> None:
    activity = Activity()
    try:
        with activity.busy():
            raise ValueError("the command failed")
    except ValueError:
        pass
    assert activity.in_flight == 0


async def test_quiet_waits_for_the_last_request_to_end_and_settle() -> None:
    activity = Activity()
    order: list[str] = []

    async def request() -> None:
        with activity.busy():
            await asyncio.sleep(0.05)
            order.append("answered")

    answering = asyncio.create_task(request())
    await asyncio.sleep(0)
    assert await activity.quiet(settle=0.02, longest=10.0)
    order.append("background batch")
    await answering
    assert order == ["answered", "background batch"]
    assert activity.idle_for() >= 0.02


async def test_quiet_gives_up_after_the_longest_wait_and_when_stopping() -> None:
    activity = Activity()
    with activity.busy():  # a bot that is never idle: the background still gets its turn
        assert not await activity.quiet(settle=0.01, longest=0.05)
        stopping = asyncio.Event()
        waiting = asyncio.create_task(activity.quiet(settle=0.01, longest=60.0, stopping=stopping))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        stopping.set()
        assert not await asyncio.wait_for(waiting, timeout=5)
    assert await activity.quiet(settle=0.0)
