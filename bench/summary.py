"""Composing the daily summary of the sample digest (144 papers) over a large archive.

Ours: `bot.summary.compose` as the poster calls it: the digest's entries, one stemming pass in
memory, the candidate phrases' exact archive counts (the costly ones cached in
summary_term_counts), highlights and groups. Timed warm (--repeat runs), with a stale count
cache (the archive as if doubled since: a few counts recounted per compose) and cold (an empty
count cache, filled by the compose; --baseline-repeat runs): median (min-max) of wall and CPU
time; target 100 ms of CPU warm.

Baseline, "uncached compose": the same compose with `cache=False`, every count taken afresh
(the same work, the same themes). An independent check of the themes: each candidate phrase
counted with its own FTS5 phrase query (the bench's `phrase_document_count`, not the product's
code) and the themes chosen from those counts; "themes shared with exact counts" is the share
of those that ours picked too.

After a load, as a member feels it: the time from a new digest's load commit until its summary
is ready, and how long a request (the daily post, the web home page) then waits for it.
Baseline: the summary composed cold in the first request after the commit (what happened before
bot.summary.warm); ours: the warmer, an after-commit listener of the load, composes it in the
background, so a request made once it is done (the post, at its hour) is a look-up. The count
cache is emptied before each run (a digest of new phrases). Also: the longest stall of the event
loop while the warm-up runs (a 5 ms ticker's lateness), and how many composes a request made
right after the commit triggered (it waits for the warm-up's, so 1 in all).

The archive comes from `bench.corpus.ensure_database(size)` (the synthetic corpus plus the sample
as hf-daily 2025-09-09), or the search bench's Loader-built fallback when that one is not whole,
copied once to bench/out/summary-*.db (the count cache writes; the sample is loaded if absent).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bench.common import OUT, SAMPLE_DATE, SAMPLE_DIGEST, BenchError, Machine, Row, spread
from bench.corpus import ensure_database
from bench.search import _fallback_database, _pg_copy
from bot.ingest.formats import ParseContext, open_input, parse
from bot.summary import compose, themes
from bot.summary.cache import SummaryCache
from bot.summary.warm import SummaryWarmer
from storage import digests as digest_repo
from storage import summary_stats
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.records import DigestInfo, PaperRecord, ParsedDigest
from testkit import pg_server

SAMPLE_DAY = dt.date.fromisoformat(SAMPLE_DATE)

NAME = "summary"
DESCRIPTION = "compose the sample digest's summary (themes, highlights) vs per-phrase FTS5 counting"
TARGET_CPU_MS = 100.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=7, help="warm composes to time (default: %(default)s)")
    parser.add_argument("--backends", default="sqlite",
                        help="sqlite, postgres or both, comma-separated (default: %(default)s; PostgreSQL: the "
                             "working copy copied into a throw-away server, or --pg-url's)")
    parser.add_argument("--after-load-only", action="store_true",
                        help="only the rows from a load's commit to the summary being ready")
    parser.add_argument("--pg-url", default=None, help="a PostgreSQL server to use instead of a throw-away one")
    parser.add_argument("--baseline-repeat", type=int, default=5,
                        help="uncached and cold composes to time (default: %(default)s)")


def _papers(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT MAX(id) FROM papers").fetchone()[0] or 0)


def _working_copy(size: int, seed: int) -> Path:
    """A writable copy of the cached archive (the count cache writes to it)."""
    try:
        source = ensure_database(size, seed)
    except BenchError as exc:
        print(f"bench summary: ensure_database failed ({str(exc).splitlines()[0]})", file=sys.stderr)
        source = None
    if source is None or _papers(source) < size * 0.9:
        # The same corpus loaded by the search bench's fallback (cached, so usually no rebuild).
        source = _fallback_database(size, seed)
    copy = OUT / f"summary-{size}-s{seed}.db"
    if not copy.exists() or copy.stat().st_mtime < source.stat().st_mtime:
        shutil.copyfile(source, copy)
    return copy


def _sample_papers() -> list[PaperRecord]:
    with open_input(str(SAMPLE_DIGEST)) as stream:
        _, batches = parse(stream, ParseContext(name=str(SAMPLE_DIGEST), today=SAMPLE_DAY, date=SAMPLE_DAY))
        return [p for batch in batches for p in batch.papers]


async def _open(path: Path, address: str | None = None) -> Database:
    """The working copy, or (`address`) its copy on PostgreSQL."""
    db = await open_database(address or path)
    if await digest_repo.find_digest(db, source="hf-daily", date=SAMPLE_DAY) is None:
        await Loader(db).load(ParsedDigest("hf-daily", SAMPLE_DAY, "hf-page", _sample_papers()))
    if address:
        return db
    # Archives built while 0006 held only papers_vocab lack the cache table: re-apply 0006.
    if not await db.fetchall("SELECT name FROM sqlite_master WHERE name = 'summary_term_counts'"):
        await db.execute("DELETE FROM schema_migrations WHERE version = 6")
        await db.execute("DROP TABLE IF EXISTS papers_vocab")
        await db.migrate()
    return db


async def phrase_document_count(db: Database, words: Sequence[str]) -> int:
    """How many archive papers contain `words` as an exact phrase (one FTS5 query): the baseline's
    way to measure a phrase, which the summary avoids. Each word is quoted, so no text is syntax."""
    phrase = '"' + " ".join(w.replace('"', '""') for w in words) + '"'
    row = await db.fetchone("SELECT COUNT(*) AS n FROM papers_fts WHERE papers_fts MATCH ?", (phrase,))
    return int(row["n"]) if row else 0


async def _baseline(db: Database, digest: DigestInfo) -> tuple[float, list[themes.Theme], int]:
    """Seconds, themes and phrase count of the per-phrase FTS5 baseline."""
    start = time.perf_counter()
    entries = await digest_repo.digest_entries(db, digest.id)
    prepared = themes.prepare(themes.Document(e.paper.id, e.paper.title, e.paper.abstract) for e in entries)
    stems = summary_stats.stem_words(prepared.shared_words())
    found = themes.candidates(prepared, stems)
    word_of: dict[str, str] = {}
    for word, stem in sorted(stems.items()):
        word_of.setdefault(stem, word)
    phrase_df = {key: await phrase_document_count(db, [word_of[s] for s in key]) for key in found}
    size = await summary_stats.archive_size(db)
    chosen = themes.select(prepared, stems, found, archive_df={}, archive_papers=size, phrase_df=phrase_df)
    return time.perf_counter() - start, chosen, len(found)


async def _timed(run: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    await run()
    return time.perf_counter() - start, time.process_time() - cpu


def _ms(pairs: list[tuple[float, float]], prefix: str = "") -> dict[str, object]:
    return {f"{prefix}ms": spread([w * 1000 for w, _ in pairs]),
            f"{prefix}CPU ms": spread([c * 1000 for _, c in pairs])}


def _label(size: int, address: str | None) -> str:
    return f"{size:,} PostgreSQL" if address else f"{size:,}"


async def _measure(path: Path, size: int, repeat: int, baseline_repeat: int,
                   address: str | None = None) -> list[Row]:
    machine = Machine()
    db = await _open(path, address)
    try:
        digest = await digest_repo.find_digest(db, source="hf-daily", date=SAMPLE_DAY)
        assert digest is not None, "the archive lacks the sample digest"
        cold, uncached = [], []
        for _ in range(baseline_repeat):
            # Baseline: the same compose with every archive count taken afresh (nothing cached).
            uncached.append(await _timed(lambda: compose(db, digest, cache=False)))
            # Cold: an empty count cache, filled by this compose.
            await db.execute("DELETE FROM summary_term_counts")
            cold.append(await _timed(lambda: compose(db, digest)))
        unc = await compose(db, digest, cache=False)
        summary = await compose(db, digest)
        warm = [await _timed(lambda: compose(db, digest)) for _ in range(repeat)]
        stale = []
        for _ in range(repeat):
            # As if the archive had doubled since the counts were saved: a few are recounted per compose.
            await db.execute("UPDATE summary_term_counts SET archive_papers = archive_papers / 2")
            stale.append(await _timed(lambda: compose(db, digest)))
        # The independent check's phrase queries are FTS5's: SQLite only.
        base, base_themes, phrases = await _baseline(db, digest) if address is None else (0.0, [], 0)
    finally:
        await db.close()
    base_ms = statistics.median(w for w, _ in uncached)
    ours = ", ".join(f"{t.label} ({t.papers})" for t in summary.themes)
    theirs = ", ".join(f"{t.label} ({t.papers})" for t in base_themes)
    exact = {t.label for t in base_themes}
    overlap = len({t.label for t in summary.themes} & exact) / len(exact) if exact else None
    same = [t.label for t in unc.themes] == [t.label for t in summary.themes]
    cpu = statistics.median(c for _, c in warm) * 1000
    baseline = {**_ms(uncached, "baseline (uncached compose) "), "baseline themes the same": same}
    label = _label(size, address)
    checked = [] if address else [
        Row(NAME, f"{label} per-phrase FTS5 counts (independent check of the themes)",
            {"ms": round(base * 1000, 1), "phrase queries": phrases, "themes": theirs})]
    return [
        Row(NAME, f"{label} compose, warm ({repeat} runs)",
            {**_ms(warm), f"CPU <= {TARGET_CPU_MS:.0f} ms": cpu <= TARGET_CPU_MS, **baseline,
             "speedup": round(base_ms / statistics.median(w for w, _ in warm), 1),
             "themes shared with exact counts": overlap, "themes": ours, **machine.values()}),
        Row(NAME, f"{label} compose, stale count cache (archive doubled since, {repeat} runs)",
            {**_ms(stale), **baseline}),
        Row(NAME, f"{label} compose, cold (empty count cache, {baseline_repeat} runs)",
            {**_ms(cold), **baseline}),
        *checked,
    ]


async def _ticking(lateness: list[float], stop: asyncio.Event, every: float = 0.005) -> None:
    """How late each 5 ms sleep wakes: the event loop's stalls (what a command waits on top)."""
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(every)
        lateness.append(time.perf_counter() - start - every)


async def _probing(latency: list[float], stop: asyncio.Event, db: Database, every: float = 0.05) -> None:
    """A small read every 50 ms and how long it took: on SQLite it queues behind the warm-up's
    counting statements on the one connection, as a command's reads do."""
    while not stop.is_set():
        start = time.perf_counter()
        await digest_repo.find_digest(db)
        latency.append(time.perf_counter() - start)
        await asyncio.sleep(every)


class _Counting:
    """A composer that counts its composes (one per digest is the warmer's promise)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, db: Database, digest: DigestInfo) -> object:
        self.calls += 1
        return await compose(db, digest)


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples) or [0.0]
    picks = (ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], ordered[-1])
    return " / ".join(f"{x * 1000:.1f}" for x in picks)


async def _after_load(path: Path, size: int, repeat: int, address: str | None = None) -> list[Row]:
    """From a new digest's load commit to its summary being ready: in the first request (baseline)
    or warmed by the load's after-commit listener (ours)."""
    machine = Machine()
    db = await _open(path, address)
    papers = _sample_papers()
    tag = f"{time.time_ns()}"  # a new digest each run, also when the working copy is reused
    cold_request, ready, later_request, right_after, composes, stalls = [], [], [], [], [], []
    reads: list[float] = []
    elsewhere: list[tuple[float, float]] = []
    try:
        for i in range(repeat):
            # Baseline: the load commits, then the first request composes the summary cold.
            await db.execute("DELETE FROM summary_term_counts")
            result = await Loader(db).load(ParsedDigest(f"bench-cold-{tag}-{i}", SAMPLE_DAY, "hf-page", papers))
            digest = await digest_repo.get_digest(db, result.digest_id)
            assert digest is not None
            cold_request.append(await _timed(lambda d=digest: SummaryCache().get(db, d)))
            # Ours: the load's after-commit listener warms it; a request after that is a look-up.
            await db.execute("DELETE FROM summary_term_counts")
            cache = SummaryCache(composer=_Counting())  # type: ignore[arg-type]
            warmer = SummaryWarmer(db, cache, clock=lambda: dt.datetime.combine(SAMPLE_DAY, dt.time(12), dt.UTC))
            lateness: list[float] = []
            stop = asyncio.Event()
            ticker = asyncio.create_task(_ticking(lateness, stop))
            probe = asyncio.create_task(_probing(reads, stop, db))
            loader = Loader(db, after_commit=[warmer.after_commit])
            result = await loader.load(ParsedDigest(f"bench-warm-{tag}-{i}", SAMPLE_DAY, "hf-page", papers))
            committed = time.perf_counter()
            digest = await digest_repo.get_digest(db, result.digest_id)
            assert digest is not None
            # A request right after the commit (the home page): it waits for the warm-up's compose.
            right_after.append(await _timed(lambda d=digest, c=cache: c.get(db, d)))
            await warmer.idle()
            ready.append(time.perf_counter() - committed)
            stop.set()
            await asyncio.gather(ticker, probe)
            stalls.append(max(lateness, default=0.0))
            later_request.append(await _timed(lambda d=digest, c=cache: c.get(db, d)))
            composes.append(cache.composer.calls)  # type: ignore[attr-defined]
            # Another process (no shared cache) composing it then: from the counts the warm-up saved.
            elsewhere.append(await _timed(lambda d=digest: compose(db, d)))
            await warmer.close()
    finally:
        await db.close()
    base = statistics.median(w for w, _ in cold_request)
    later = statistics.median(w for w, _ in later_request)
    baseline = _ms(cold_request, "baseline (cold compose in the first request) ")
    label = _label(size, address)
    return [
        Row(NAME, f"{label} after a load: request once warmed (the daily post, home page; {repeat} runs)",
            {**_ms(later_request), **baseline, "speedup": round(base / later, 1) if later > 0 else None,
             "commit to summary ready (background) ms": spread([r * 1000 for r in ready]),
             "event loop's longest stall ms": spread([x * 1000 for x in stalls]),
             "a read during the warm-up p50 / p99 / max ms": _percentiles(reads),
             "composes per digest": max(composes), **machine.values()}),
        Row(NAME, f"{label} after a load: another process's first compose, from the counts saved ({repeat} runs)",
            {**_ms(elsewhere), **baseline}),
        Row(NAME, f"{label} after a load: request right after the commit (shares the warm-up; {repeat} runs)",
            {**_ms(right_after), **baseline}),
    ]


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    with contextlib.ExitStack() as stack:
        server_url = args.pg_url
        if "postgres" in backends and not server_url:
            server_url = stack.enter_context(pg_server.running()).url
        for size in args.sizes:
            path = _working_copy(size, args.seed)
            for backend in backends:
                address = asyncio.run(_pg_copy(path, size, server_url)) if backend == "postgres" else None
                if not args.after_load_only:
                    rows.extend(asyncio.run(_measure(path, size, args.repeat, args.baseline_repeat, address)))
                rows.extend(asyncio.run(_after_load(path, size, args.repeat, address)))
    return rows
