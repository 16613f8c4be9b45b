"""Resilience: load held, faults survived, hostile inputs tried — one table, lost = 0 and
duplicated = 0 checked for each.

* Load: the production client (`PaperboyClient` + `App`, real discord.py) on a copy of the
  corpus database (default 1M papers), connected to the loopback Discord fake with Discord's real
  3 s interaction deadline. At once: `--interactions` slash commands and autocompletes (half
  each, `--concurrency` at a time), a `--digest`-paper digest loading, and the daily post fanning
  out to `--channels` channels (the production rate limit, 45 requests/s). Reported: interaction
  acknowledgement p50/p99/max (as the fake saw it), write stalls (how long a write waited to
  begin its transaction, and the longest transaction: every other writer waits that long), peak
  RSS of the process during the phase (bot and fake together: one process). Lost: channels
  without their post, posts not logged 'sent', digest entries missing, interactions not
  acknowledged within 3 s. Duplicated: a channel with two posts, a paper stored twice.
* Faults: the kill -9 scenarios of testkit/faults/scenarios.py at larger sizes (300 channels,
  200 direct messages, a 10,000-paper digest), then the fault tests (Discord 429/5xx bursts,
  gateway drop, database locked, disk full), which assert lost = duplicated = 0 themselves.
* Inputs: the property-based (hypothesis) and hostile-option tests, with the number of inputs
  each tried (hypothesis' own statistics).

`python -m bench resilience` (`--parts load,faults,inputs`, `--sizes 100000` for a quicker load).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bench.common import OUT, PYTHON, REPO, BenchError, Row
from bench.corpus import generate, sample_titles
from bench.discord_latency import QUERIES, _run
from bench.search import _database, _percentile
from bench.write_stalls import WriteLog, loop_lag, median, percentile
from bot.app import App
from bot.config import Settings
from bot.schedule.clock import ManualClock
from bot.transports.discord_bot import PaperboyClient, Timing
from storage import guilds as guild_repo
from storage.db import Database
from storage.guilds import GuildSchedule
from storage.records import PaperRecord, ParsedDigest
from testkit.discord_fake import DiscordFake, FakeChannel, InteractionHandle
from testkit.discord_fake.fixtures import make_world, running_client
from testkit.faults.scenarios import Outcome, killed_digest_load, killed_fan_out, killed_notifications

NAME = "resilience"
DESCRIPTION = "load held, faults survived, hostile inputs tried: lost = 0 and duplicated = 0 for each"
PARTS = ("load", "faults", "inputs")
THREAD_ROWS = 6  # the callers whose statements kept the connection's thread busiest
FAULT_TESTS = ["tests/faults/test_discord_faults.py", "tests/faults/test_database_faults.py",
               "tests/e2e/test_bot_notifications.py"]
INPUT_TESTS = ["tests/bot/ingest/formats/test_ingest_properties.py", "tests/storage/search/test_search_query.py",
               "tests/bot/summary/test_render.py", "tests/bot/subscriptions/test_matching.py",
               "tests/bot/commands/test_dispatch.py", "tests/e2e/test_bot_hostile.py"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[1_000_000])
    parser.add_argument("--parts", default=",".join(PARTS), help="which parts: load,faults,inputs (default all)")
    parser.add_argument("--interactions", type=int, default=200, help="commands and autocompletes (default 200)")
    parser.add_argument("--concurrency", type=int, default=20, help="interactions in flight at once (default 20)")
    parser.add_argument("--channels", type=int, default=1000, help="channels the daily post goes to (default 1000)")
    parser.add_argument("--digest", type=int, default=10_000, help="papers in the digest loaded (default 10000)")
    parser.add_argument("--dump", type=Path, default=None,
                        help="write every write transaction of the load (caller, asked/locked/began/ended) as JSON")


# -- load ------------------------------------------------------------------------------------------


def _fresh_copy(size: int, seed: int) -> Path:
    """A private copy of the corpus database, made anew each run (the run writes to it)."""
    fallback = OUT / f"search-fallback-{size}-s{seed}.db"
    source = fallback if fallback.exists() else _database(size, seed)
    target = OUT / f"resilience-{size}-s{seed}.db"
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


async def _repair_summary_cache(db: Database) -> None:
    """Corpus databases built while migration 0006 held only papers_vocab lack the summary's cache
    table (bench/summary.py does the same): apply 0006 again."""
    if not await db.fetchall("SELECT name FROM sqlite_master WHERE name = 'summary_term_counts'"):
        await db.execute("DELETE FROM schema_migrations WHERE version = 6")
        await db.execute("DROP TABLE IF EXISTS papers_vocab")
        await db.migrate()


def _digest(source: str, fmt: str, day: dt.date, papers: int, *, first: int = 1, seed: int = 99) -> ParsedDigest:
    """A digest of real-looking papers with ids the corpus does not have (2601.*: all new)."""
    records = [PaperRecord(title=r["title"], abstract=r["abstract"].strip(), arxiv_id=f"2601.{i:05d}",
                           authors=[r["authors"]]) for i, r in enumerate(generate(papers, seed=seed), first)]
    return ParsedDigest(source, day, fmt, records)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _peak_rss(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(_rss_mb())
        await asyncio.sleep(0.05)


async def _load(path: Path, size: int, args: argparse.Namespace) -> list[Row]:
    settings = Settings()
    settings.database.path = str(path)
    settings.fetch.enabled = False
    titles = sample_titles()
    prefixes = [t[: 4 + i % 12].casefold() for i, t in enumerate(titles)]
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    day = now.date()
    async with DiscordFake() as fake:  # the real 3 s deadline
        world = make_world(fake)
        channels: list[FakeChannel] = [fake.add_text_channel(fake.add_guild(f"Lab {i}"), "papers")
                                       for i in range(args.channels)]
        client = PaperboyClient(settings, sync=False, start_jobs=False, timing=Timing(), guild_ready_timeout=0.05)
        clock = ManualClock(now - dt.timedelta(minutes=5))
        app = await App.open(settings, client.outbound, clock=clock, platform="discord")
        client.attach(app)
        try:
            await _repair_summary_cache(app.db)
            # The day's post carries a small digest that arrived before post time; the big one is
            # another source's, loading during the fan-out.
            await app.loader.load(_digest("hf-daily", "hf-api", day, 30, first=90_001, seed=98))
            for c in channels:
                await guild_repo.save_schedule(app.db, GuildSchedule(
                    f"discord:{c.guild_id}", f"discord:{c.id}", now.time(), "UTC", thread=False,
                    source="hf-daily"), now=now - dt.timedelta(minutes=10))
            big = _digest("arxiv-rss:cs.LG", "arxiv-rss", day, args.digest)
            async with running_client(fake, client, ready_timeout=120):
                await _run(fake, _mixed(world, prefixes, titles), 20, args.concurrency)  # warm up
                writes = WriteLog(app.db).attach()
                writes.time_hooks(app.loader.after_load)  # type: ignore[arg-type]
                rss: list[float] = []
                lag: list[float] = []
                stop = asyncio.Event()
                sampler = asyncio.create_task(_peak_rss(rss, stop))
                lagger = asyncio.create_task(loop_lag(lag, stop))
                clock.set(now + dt.timedelta(seconds=1))
                started = time.perf_counter()
                fan_out = asyncio.create_task(_timed(app.runner.run_due()))
                load = asyncio.create_task(_timed(app.loader.load(big)))
                handles: list[InteractionHandle] = []
                clock_offset = time.perf_counter() - asyncio.get_running_loop().time()
                samples, _, deferred, failed = await _run(fake, _kept(_mixed(world, prefixes, titles), handles),
                                                          args.interactions, args.concurrency)
                (report, fan_out_s), (loaded, load_s) = await fan_out, await load
                wall = time.perf_counter() - started
                stop.set()
                await sampler
                await lagger
        finally:
            await app.close()
        per_channel = [len(fake.messages_in(c)) for c in channels]
    lost = sum(1 for n in per_channel if n == 0) + (args.channels - len(report.sent)) + failed + (
        args.digest - loaded.papers)
    duplicated = sum(n - 1 for n in per_channel if n > 1)
    if args.dump is not None:
        args.dump.write_text(json.dumps([{"caller": t.caller, "asked": t.asked - started, "locked": t.locked - started,
                                          "began": t.began - started, "ended": t.ended - started}
                                         for t in writes.transactions]))
    waits = [t.waited for t in writes.transactions]
    # The post log's writes: its repository functions', and its writer task's (batched).
    post_writes = sum(1 for t in writes.transactions
                      if t.caller.startswith("storage.posts.") or t.caller == "task 'posts log writer'")
    main = Row(NAME, f"load: {size:,}-paper archive", {
        "done": f"{args.interactions} interactions ({args.concurrency} at a time) + {args.digest:,}-paper digest "
                f"load + daily post to {args.channels:,} channels, in {wall:.1f} s",
        "count": args.interactions + args.channels + args.digest, "lost": lost, "duplicated": duplicated,
        "result": "held" if lost == duplicated == 0 else "FAILED",
        "p50 ms": statistics.median(samples), "p99 ms": _percentile(samples, 99), "max ms": max(samples),
        "acked <= 3 s": f"{len(samples) - failed}/{len(samples)}", "deferred": deferred,
        "fan-out s": fan_out_s, "load s": load_s,
        "write wait p99 ms": percentile(waits, 99) * 1000, "write wait max ms": max(waits) * 1000,
        "longest write ms": max(t.held for t in writes.transactions) * 1000,
        "post-log writes per post": post_writes / max(len(report.sent), 1),
        "loop lag p99 ms": percentile(lag, 99) * 1000, "peak RSS MB": max(rss),
        "longest wait": writes.explain_worst(),
        "slowest acknowledgement": _slowest_ack(handles, clock_offset, started, writes),
    })
    return [main, *_stall_rows(writes, size)]


T = TypeVar("T")


async def _timed(job: Awaitable[T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = await job
    return result, time.perf_counter() - start


def _stall_rows(writes: WriteLog, size: int) -> list[Row]:
    """One row per caller of write transactions, the callers that waited longest in total first."""
    rows = []
    for name, done in writes.by_caller().items():
        waited = [t.waited for t in done]
        rows.append(Row(NAME, f"load: {size:,} writes by {name}", {
            "count": len(done), "write wait p50 ms": median(waited) * 1000,
            "write wait p99 ms": percentile(waited, 99) * 1000, "write wait max ms": max(waited) * 1000,
            "of it for the lock p99 ms": percentile((t.locked - t.asked for t in done), 99) * 1000,
            "for BEGIN p99 ms": percentile((t.began - t.locked for t in done), 99) * 1000,
            "write wait total s": sum(waited), "longest write ms": max(t.held for t in done) * 1000,
            "write held total s": sum(t.held for t in done)}))
    for name, done in list(writes.statements_by_caller().items())[:THREAD_ROWS]:
        rows.append(Row(NAME, f"load: {size:,} statements by {name}", {
            "count": len(done), "thread s": sum(st.finished - st.started for st in done),
            "queued p99 ms": percentile((st.started - st.queued for st in done), 99) * 1000}))
    return rows


Dispatch = Callable[[DiscordFake, int], Any]


def _kept(dispatch: Dispatch, handles: list[InteractionHandle]) -> Dispatch:
    """`dispatch`, keeping each interaction's handle (when it was sent, when it was answered)."""

    async def one(fake: DiscordFake, i: int) -> InteractionHandle:
        handle: InteractionHandle = await dispatch(fake, i)
        handles.append(handle)
        return handle

    return one


def _slowest_ack(handles: list[InteractionHandle], clock_offset: float, started: float, writes: WriteLog) -> str:
    """When the slowest-answered interaction came, and what the connection's thread ran while it waited."""
    answered = [(h, next(a.at for a in h.attempts if a.kind == "callback")) for h in handles
                if any(a.kind == "callback" for a in h.attempts)]
    if not answered:
        return "-"
    handle, seconds = max(answered, key=lambda pair: pair[1])
    begin = handle.created_at + clock_offset
    ran = writes.thread_by_caller(begin, begin + seconds)
    top = ", ".join(f"{name} {busy:.2f} s" for name, busy in list(ran.items())[:3])
    return (f"{seconds:.2f} s, {begin - started:.1f} s into the run; the connection's thread meanwhile ran "
            f"{sum(ran.values()):.2f} s of statements, most: {top}")


def _mixed(world: Any, prefixes: list[str], titles: list[str]) -> Dispatch:
    """Alternately a /paper title autocomplete, a /search and a /paper command."""

    def one(fake: DiscordFake, i: int) -> Any:
        if i % 2 == 0:
            return fake.autocomplete("paper", {"title": prefixes[i % len(prefixes)]}, focused="title",
                                     guild=world.guild, user=world.member)
        if i % 4 == 1:
            return fake.slash("search", {"query": QUERIES[i % len(QUERIES)]}, guild=world.guild,
                              channel=world.channel, user=world.member)
        return fake.slash("paper", {"title": titles[i % len(titles)][:60]}, guild=world.guild,
                          channel=world.channel, user=world.member)

    return one


# -- faults and inputs ---------------------------------------------------------------------------


def _outcome_row(outcome: Outcome) -> Row:
    return Row(NAME, f"fault: {outcome.scenario}", {
        "done": outcome.detail + (f"; {outcome.resent} re-sent with their key" if outcome.resent else ""),
        "count": outcome.items, "lost": outcome.lost, "duplicated": outcome.duplicated,
        "result": "survived" if outcome.ok else "FAILED"})


async def _kills() -> list[Outcome]:
    outcomes = []
    scenarios: list[Callable[[Path], Awaitable[Outcome]]] = [
        lambda d: killed_fan_out(d, servers=300, kill_after=100),
        lambda d: killed_notifications(d, users=200, kill_after=60),
        lambda d: killed_digest_load(d, papers=10_000, subscribers=50)]
    for scenario in scenarios:
        with tempfile.TemporaryDirectory(prefix="paperboy-fault-") as folder:
            outcomes.append(await scenario(Path(folder)))
    return outcomes


_RESULT = re.compile(r"^(?P<test>tests/\S+::.+?) (?P<result>PASSED|FAILED|ERROR)", re.M)
_EXAMPLES = re.compile(r"^(?P<test>tests/\S+::.+?):\n(?P<body>(?:  .*\n|\n)*?)(?=\S|\Z)", re.M)
_PASSING = re.compile(r"(\d+) passing")


def _pytest(paths: list[str], *extra: str) -> tuple[dict[str, str], dict[str, int]]:
    """Run tests; ({test id: PASSED/FAILED}, {test id: hypothesis examples tried})."""
    done = subprocess.run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-v", "--tb=line", *extra, *paths],
                          cwd=REPO, capture_output=True, text=True, check=False)
    results = {m["test"]: m["result"] for m in _RESULT.finditer(done.stdout)}
    if not results:
        raise BenchError(f"pytest ran nothing: {done.stdout[-500:]}{done.stderr[-500:]}")
    examples = {m["test"]: sum(int(n) for n in _PASSING.findall(m["body"])) for m in _EXAMPLES.finditer(done.stdout)}
    return results, examples


def _by_file(results: dict[str, str]) -> dict[str, tuple[int, int]]:
    files: dict[str, tuple[int, int]] = {}
    for test, result in results.items():
        name = test.split("::")[0]
        passed, total = files.get(name, (0, 0))
        files[name] = (passed + (result == "PASSED"), total + 1)
    return files


def _fault_tests() -> list[Row]:
    results, _ = _pytest(FAULT_TESTS)
    return [Row(NAME, f"fault: {test.split('::')[1].removeprefix('test_').replace('_', ' ')}", {
        "done": test.split("::")[0], "count": 1, "lost": 0 if result == "PASSED" else None,
        "duplicated": 0 if result == "PASSED" else None, "result": "survived" if result == "PASSED" else "FAILED"})
        for test, result in results.items()]


def _inputs() -> list[Row]:
    from testkit.hostile_options import HOSTILE, TARGETS  # the hostile values × every option

    results, examples = _pytest(INPUT_TESTS, "--hypothesis-show-statistics")
    rows = []
    for name, (passed, total) in _by_file(results).items():
        tried = sum(n for test, n in examples.items() if test.startswith(name + "::"))
        if name.endswith("test_dispatch.py"):
            tried += len(TARGETS) * len(HOSTILE)
        rows.append(Row(NAME, f"inputs: {name.removeprefix('tests/')}", {
            "done": f"{passed}/{total} tests passed; every input gave records, a reply or a clear error",
            "count": tried or total, "lost": None, "duplicated": None,
            "result": "no unhandled exception" if passed == total else "FAILED"}))
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    logging.getLogger("discord").setLevel(logging.ERROR)
    # The fake writing to a bot just killed with SIGKILL: expected, not worth a traceback.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if parts - set(PARTS):
        raise BenchError(f"unknown part(s) {sorted(parts - set(PARTS))}; choose from {', '.join(PARTS)}")
    rows: list[Row] = []
    if "load" in parts:
        for size in args.sizes:
            try:
                path = _fresh_copy(size, args.seed)
            except OSError as exc:
                raise BenchError(f"cannot copy the {size:,}-paper database: {exc}") from exc
            try:
                rows += asyncio.run(_load(path, size, args))
            finally:
                for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                    leftover.unlink(missing_ok=True)
    if "faults" in parts:
        rows += [_outcome_row(o) for o in asyncio.run(_kills())]
        rows += _fault_tests()
    if "inputs" in parts:
        rows += _inputs()
    return rows
