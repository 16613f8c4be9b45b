"""Where the scheduler's "now" comes from: the system clock, or a hand-driven one for tests and
the console's simulated time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]  # returns a timezone-aware instant


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to (`set`, `advance`)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = _aware(start)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, moment: dt.datetime) -> None:
        self.now = _aware(moment)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self.now += delta
        return self.now


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; the scheduler needs aware instants")
    return moment.astimezone(dt.UTC)
