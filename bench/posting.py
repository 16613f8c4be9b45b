"""Daily-post fan-out: N servers due at the same minute, posted through a fake transport.

Measures what Discord's global limit (50 requests/s) cares about: the achieved request rate, the
most requests in any one-second window, and the total time, with the shared token bucket at its
configured rate and, as the baseline, with no limiter. Every server must end with exactly one post.
The fake transport answers after `--latency-ms` (a REST round trip); the post log is a real SQLite
file, so the figures include the log's writes (write transactions per post and their wait to
begin are reported too).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import time
from dataclasses import dataclass, field

from bench.common import OUT, BenchError, Row, remove_database
from bench.write_stalls import WriteLog, percentile
from bot.chat.outbound import Sent
from bot.chat.ratelimit import TokenBucket
from bot.chat.replies import Reply
from bot.config import ScheduleSettings
from bot.schedule.clock import ManualClock
from bot.schedule.runner import PostingRunner, policy_from
from bot.schedule.settings import set_schedule
from storage.backends import open_database
from storage.loader import Loader
from storage.records import DigestInfo, PaperRecord, ParsedDigest

NAME = "posting"
DESCRIPTION = "daily post to N servers at once through a fake transport: request rate vs Discord's 50/s"
DISCORD_LIMIT = 50.0
DAY = dt.date(2025, 9, 10)
SLOT = dt.datetime(2025, 9, 10, 7, tzinfo=dt.UTC)  # 09:00 Europe/Berlin = 08:00 Europe/London
ZONES = (("09:00", "Europe/Berlin"), ("08:00", "Europe/London"), ("03:00", "America/New_York"),
         ("16:00", "Asia/Tokyo"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--servers", type=int, default=1000, help="servers due at the same minute (default 1000)")
    parser.add_argument("--pages", type=int, default=0,
                        help="full-list pages per post, sent in a thread (default 0: one request per server)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="the fake transport's answer time")


@dataclass
class _FakeOutbound:
    latency: float
    stamps: list[float] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    duplicates: int = 0

    async def _request(self) -> str:
        self.stamps.append(time.monotonic())
        await asyncio.sleep(self.latency)
        return f"m{len(self.stamps)}"

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        if key in self.keys:
            self.duplicates += 1
        if key is not None:
            self.keys.add(key)
        return Sent(channel_id, await self._request())

    async def start_thread(self, message: Sent, name: str) -> str:
        return await self._request()

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        return Sent(user_id, await self._request())


def _max_per_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max((bisect.bisect_left(stamps, s + 1.0) - i for i, s in enumerate(stamps)), default=0)


async def _case(label: str, args: argparse.Namespace, limited: bool) -> Row:
    path = OUT / "posting.db"
    OUT.mkdir(parents=True, exist_ok=True)
    remove_database(path)
    settings = ScheduleSettings()
    db = await open_database(path)
    try:
        await Loader(db).load(ParsedDigest("hf-daily", DAY, "hf-page",
                                           [PaperRecord(f"Paper {i}", "An abstract.") for i in range(30)]),
                              now=SLOT - dt.timedelta(hours=2))
        for i in range(args.servers):
            at, zone = ZONES[i % len(ZONES)]
            await set_schedule(db, f"discord:{1000 + i}", channel=f"discord:{900000 + i}", time=at, timezone=zone,
                               thread=args.pages > 0, now=SLOT - dt.timedelta(days=1))

        async def render(digest: DigestInfo) -> list[Reply]:
            return [Reply(text=f"{digest.papers} papers")] + [Reply(text=f"page {i}") for i in range(args.pages)]

        out = _FakeOutbound(args.latency_ms / 1000)
        limiter = TokenBucket(settings.rate_per_second, settings.burst) if limited else None
        runner = PostingRunner(db, out, render, clock=ManualClock(SLOT), policy=policy_from(settings),
                               limiter=limiter, concurrency=settings.concurrency)
        writes = WriteLog(db).attach()
        start = time.perf_counter()
        report = await runner.run_due()
        seconds = time.perf_counter() - start
    finally:
        await db.close()
        remove_database(path)
    if len(report.sent) != args.servers or out.duplicates:
        raise BenchError(f"{label}: {len(report.sent)} of {args.servers} servers posted, "
                         f"{out.duplicates} duplicate keys")
    span = (max(out.stamps) - min(out.stamps)) or 1e-9
    peak = _max_per_second(out.stamps)
    return Row(NAME, label, {
        "servers": args.servers, "requests": len(out.stamps), "total_s": seconds,
        "rate_per_s": len(out.stamps) / span, "max_in_1s": peak,
        "peak_vs_limit": peak / DISCORD_LIMIT, "within_limit": peak <= DISCORD_LIMIT,
        "write_tx_per_post": len(writes.transactions) / args.servers,
        "write_wait_p99_ms": percentile((t.waited for t in writes.transactions), 99) * 1000,
    })


def run(args: argparse.Namespace) -> list[Row]:
    if args.servers < 1 or args.pages < 0:
        raise BenchError("--servers must be at least 1 and --pages at least 0")
    settings = ScheduleSettings()
    limited = f"token bucket {settings.rate_per_second:g}/s burst {settings.burst}"
    return [asyncio.run(_case(limited, args, True)), asyncio.run(_case("no limiter (baseline)", args, False))]
