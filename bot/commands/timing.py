"""How long interactions take to answer, counted in memory for the operator (`/metrics`, bot.web.metrics).

A histogram per kind of interaction ("command", "suggest", "press"), with Prometheus' cumulative
buckets, so that an operator's scraper can tell the p95 of answers and watch it move.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Upper bounds in seconds: Discord gives an interaction 3 s to be answered (or deferred).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class Series:
    """One kind's observations: counts per bucket (not cumulative; the last is +Inf), their sum."""

    counts: list[int]
    total: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[int]:
        out, running = [], 0
        for n in self.counts:
            running += n
            out.append(running)
        return out


@dataclass(slots=True)
class LatencyHistogram:
    buckets: tuple[float, ...] = BUCKETS
    series: dict[str, Series] = field(default_factory=dict)

    def observe(self, kind: str, seconds: float) -> None:
        found = self.series.get(kind)
        if found is None:
            found = self.series[kind] = Series([0] * (len(self.buckets) + 1))
        index = next((i for i, bound in enumerate(self.buckets) if seconds <= bound), len(self.buckets))
        found.counts[index] += 1
        found.total += seconds

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(kind, time.perf_counter() - started)
