"""`python -m bench llm`: the model's summaries of the 144-paper sample digest against the loopback
fake model server (testkit/llm_fake.py) answering after a fixed delay (issue #19).

Measures, for one digest: requests and tokens; the wall time of writing its summaries with
`max_concurrency` 1 and 8 (a fresh cache each run: a new model name); and the time the model adds
to the posting path: the app loads the digest (its after-commit listener starts the summaries in
the background) and at once sends the daily post to 25 servers, with `[llm]` off, and on with the
server answering after the delay (the post goes out before any answer) and with the cache warm.
The post's baseline is the same app with `[llm]` off, in the same run; target: 0 added.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import statistics
import time
from pathlib import Path

from bench.common import OUT, SAMPLE_DATE, SAMPLE_DIGEST, Row
from bot.app import App
from bot.chat.outbound import Sent
from bot.chat.replies import Reply
from bot.config import Settings
from bot.ingest.load import IngestOptions, ingest
from bot.llm.client import ChatClient
from bot.llm.service import LlmService
from bot.schedule.clock import ManualClock
from bot.schedule.settings import set_schedule
from bot.summary.cache import SummaryCache
from storage import digests as digest_repo
from storage import llm_cache
from testkit.llm_fake import fake_llm

NAME = "llm"
DESCRIPTION = "model summaries of the 144-paper sample: requests, tokens, concurrency 1 vs 8, time added to the post"
SERVERS = 25
DAY = dt.date.fromisoformat(SAMPLE_DATE)
ARRIVAL = dt.datetime.combine(DAY, dt.time(5, 0), tzinfo=dt.UTC)
POST_TIME = dt.datetime.combine(DAY, dt.time(9, 0), tzinfo=dt.UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the fake server takes per answer")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (default: %(default)s)")


class _Outbound:
    """Counts what is posted; sends nothing anywhere."""

    def __init__(self) -> None:
        self.posts: list[Reply] = []

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        self.posts.append(reply)
        return Sent(channel_id, str(len(self.posts)))

    async def start_thread(self, message: Sent, name: str) -> str:
        return f"t{message.message_id}"

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        return Sent(user_id, "d")


def _settings(folder: Path, base_url: str | None) -> Settings:
    settings = Settings()
    settings.database.path = str(folder / "bench.db")
    settings.fetch.enabled = False
    if base_url is not None:
        settings.llm.enabled, settings.llm.base_url, settings.llm.model = True, base_url, "bench-model"
    return settings


async def _post_once(folder: Path, base_url: str | None, *, warm: bool) -> tuple[float, bool, int]:
    """(seconds from the post run's start to every post sent, whether model text was in it, answers
    the model had given by then). The digest is loaded through the app's loader first."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    out = _Outbound()
    clock = ManualClock(ARRIVAL)
    app = await App.open(_settings(folder, base_url), out, clock=clock, platform="console")
    try:
        for n in range(SERVERS):
            await set_schedule(app.db, f"console:s{n}", channel=f"console:c{n}", time="09:00", timezone="UTC",
                               thread=True, now=ARRIVAL)
        outcome = await ingest(app.loader, str(SAMPLE_DIGEST), IngestOptions(date=DAY, today=DAY))
        assert outcome.ok, outcome.error
        if warm and app.services.llm is not None:
            await app.services.llm.idle()
        clock.set(POST_TIME)
        answered = (await llm_cache.get_usage(app.db, POST_TIME.date(), "bench-model")).requests
        start = time.perf_counter()
        report = await app.runner.run_due(POST_TIME)
        seconds = time.perf_counter() - start
        assert len(report.sent) == SERVERS, report
        with_text = any("Today in papers" in c.description for r in out.posts for c in r.cards)
        return seconds, with_text, answered
    finally:
        await app.close()


async def _write_once(folder: Path, base_url: str, concurrency: int, model: str) -> tuple[float, int, int]:
    """(seconds to write the sample's summaries, requests, tokens) with a fresh cache."""
    from storage.backends import open_database

    db = await open_database(folder / "bench.db")
    try:
        digest = await digest_repo.find_digest(db, date=DAY)
        assert digest is not None
        summaries = SummaryCache()
        await summaries.get(db, digest)  # composed before: the time is the model's alone
        client = ChatClient(base_url, model, max_concurrency=concurrency, timeout_seconds=600)
        llm = LlmService(db, client, daily_token_budget=10**9, clock=lambda: POST_TIME, summaries=summaries,
                         background=False)
        start = time.perf_counter()
        run = await llm.summarize_digest(digest)
        seconds = time.perf_counter() - start
        await llm.close()
        assert not run.trouble, run.trouble
        usage = await llm_cache.get_usage(db, POST_TIME.date(), model)
        return seconds, usage.requests, usage.tokens
    finally:
        await db.close()


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


async def _run(args: argparse.Namespace) -> list[Row]:
    folder = OUT / "llm"
    rows: list[Row] = []
    async with fake_llm(delay=args.delay) as server:
        # The posting path: off (the baseline), on while the model is still answering, on with a warm cache.
        cases = {"post, [llm] off (baseline)": (None, False), "post, [llm] on, model still answering": (
            server.base_url, False), "post, [llm] on, cache warm": (server.base_url, True)}
        timings: dict[str, list[float]] = {case: [] for case in cases}
        texts: dict[str, bool] = {}
        answered: dict[str, int] = {}
        for _ in range(args.repeat):
            for case, (url, warm) in cases.items():
                seconds, with_text, given = await _post_once(folder / "post", url, warm=warm)
                timings[case].append(seconds)
                texts[case], answered[case] = with_text, given
        base = statistics.median(timings["post, [llm] off (baseline)"])
        for case, values in timings.items():
            rows.append(Row(NAME, case, {"servers": SERVERS, "post run s": _median(values),
                                         "added s": f"{statistics.median(values) - base:+.3f}",
                                         "model text in post": texts[case],
                                         "answers when the post run began": answered[case]}))
        # Writing the summaries: concurrency 1 vs 8, each with a fresh cache (a new model name).
        for concurrency in (1, 8):
            walls = []
            requests = tokens = 0
            for i in range(args.repeat):
                seconds, requests, tokens = await _write_once(folder / "post", server.base_url, concurrency,
                                                              f"bench-c{concurrency}-{i}")
                walls.append(seconds)
            rows.append(Row(NAME, f"write the digest's summaries, max_concurrency {concurrency}",
                            {"delay s": args.delay, "requests": requests, "tokens": tokens,
                             "wall s": _median(walls)}))
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    return asyncio.run(_run(args))
