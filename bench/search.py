"""Keyword search latency, in-process after start-up, against plain FTS5 ranking in the same run.

For each corpus size, a fixed mix of queries (terms in most abstracts, phrases, exclusions, OR,
prefixes, title-only, rare terms, filters, a second page) runs `bot.search.search` REPEAT times
each on one open database; the baseline is `SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?
ORDER BY rank LIMIT 10` with the same compiled MATCH expression (no filters, no snippets).
The summary row gives p95 over every run of the mix and the baseline/search ratio. Search keeps
prefix expansions and idf counts until the index changes (storage.sqlite.search.index_cache), so the
repeated runs are warm; REPEAT more runs, each after dropping them (the database pages already
read), are reported apart as "uncached".

The database comes from `bench.corpus.ensure_database(size)` (built by the real `paperboy
ingest`); when that cannot run, a fallback loads the same generated corpus with the Loader,
one digest per submission day.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import OUT, BenchError, Row, remove_database
from bench.corpus import ensure_database, generate
from bot.search import SearchFilters, search
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from storage.search import parse
from storage.sqlite.search import index_cache

NAME = "search"
DESCRIPTION = "keyword search p95 in-process vs FTS5 `ORDER BY rank LIMIT 10`, over a fixed query mix"
TARGET_P95_MS = 50.0

# (label, query, filter kind): filter kinds are resolved against the database's own dates.
MIX: list[tuple[str, str, str]] = [
    ("frequent term", "model", ""),
    ("frequent term", "diffusion", ""),
    ("two frequent terms", "language models", ""),
    ("phrase", '"large language models"', ""),
    ("exclusion", "model -diffusion", ""),
    ("phrase exclusion", 'learning -"language models"', ""),
    ("OR", "transformer OR attention", ""),
    ("prefix", "quantiz*", ""),
    ("title only", "title:diffusion", ""),
    ("rare term", "hyperpriors", ""),
    ("rare phrase", '"probabilistic vector quantization"', ""),
    ("no match", "zzqxj", ""),
    ("frequent, last month", "model", "since"),
    ("frequent, one old day", "diffusion", "date"),
    ("frequent, page 2", "model", "page2"),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query (default: %(default)s)")
    parser.add_argument("--db", type=Path, help="measure this database instead of the corpus one")


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


async def _timed(repeat: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def _uncached(db: Database, text: str, filters: SearchFilters, cursor: str | None) -> None:
    index_cache._states.pop(db, None)  # forget what search kept for this database: a first search
    await search(db, text, filters, cursor=cursor)


async def _filters(db: Database, kind: str) -> SearchFilters:
    if kind == "since":
        row = await db.fetchone("SELECT MAX(date) AS d FROM digests")
        assert row is not None and row["d"]
        return SearchFilters(since=dt.date.fromisoformat(row["d"]) - dt.timedelta(days=30))
    if kind == "date":  # a busy day about three years back: old enough to be deep in rowid order
        row = await db.fetchone("SELECT date AS d FROM digests WHERE date <= date((SELECT MAX(date) FROM digests),"
                                " '-3 years') ORDER BY paper_count DESC, date DESC LIMIT 1")
        return SearchFilters(date=dt.date.fromisoformat(row["d"])) if row else SearchFilters()
    return SearchFilters()


async def _measure(path: Path, size: int, repeat: int) -> list[Row]:
    rows: list[Row] = []
    db = await Database.open(path, migrate=False)  # read-only use: never migrate the cached copy
    try:
        await search(db, "warm up the page cache")
        all_search: list[float] = []
        all_base: list[float] = []
        all_uncached: list[float] = []
        for label, text, kind in MIX:
            filters = await _filters(db, kind)
            cursor = None
            if kind == "page2":
                cursor = (await search(db, text, filters)).next_cursor
            result = await search(db, text, filters, cursor=cursor)  # pages read in, as for the baseline
            uncached = await _timed(repeat, functools.partial(_uncached, db, text, filters, cursor))
            fts5 = parse(text).to_fts5()
            searched = await _timed(repeat, functools.partial(search, db, text, filters, cursor=cursor))
            all_uncached += uncached
            base = await _timed(repeat, functools.partial(
                db.fetchall, "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rank LIMIT 10", (fts5,)))
            all_search += searched
            all_base += base
            rows.append(Row(NAME, f"{size:,} {label}: {text}" + (f" ({kind})" if kind else ""), {
                "matches": result.count_text, "exact": result.exact, "uncached p95 ms": _percentile(uncached, 95),
                "search p50 ms": statistics.median(searched), "search p95 ms": _percentile(searched, 95),
                "baseline p95 ms": _percentile(base, 95),
            }))
        p95, base95 = _percentile(all_search, 95), _percentile(all_base, 95)
        rows.append(Row(NAME, f"{size:,} ALL ({len(MIX)} queries x {repeat})", {
            "uncached p95 ms": _percentile(all_uncached, 95),
            "search p50 ms": statistics.median(all_search), "search p95 ms": p95, "baseline p95 ms": base95,
            "baseline/search p95": base95 / p95 if p95 else None,
            "baseline/uncached p95": base95 / _percentile(all_uncached, 95) if all_uncached else None,
            f"p95 <= {TARGET_P95_MS:.0f} ms": p95 <= TARGET_P95_MS,
        }))
    finally:
        await db.close()
    return rows


def _fallback_database(size: int, seed: int) -> Path:
    """The corpus loaded with the Loader directly (one digest a day), for when ingest cannot run."""
    path = OUT / f"search-fallback-{size}-s{seed}.db"
    if path.exists():
        return path
    building = OUT / f"building-{path.name}"
    remove_database(building)

    async def build() -> None:
        db = await Database.open(building)
        loader = Loader(db)
        day: str | None = None
        batch: list[PaperRecord] = []

        async def flush() -> None:
            if batch and day:
                await loader.load(ParsedDigest("arxiv-snapshot", dt.date.fromisoformat(day), "arxiv-snapshot",
                                               list(batch), complete=False))
            batch.clear()

        try:
            for rec in generate(size, seed):
                created = dt.datetime.strptime(rec["versions"][0]["created"], "%a, %d %b %Y %H:%M:%S GMT")
                if created.date().isoformat() != day:
                    await flush()
                    day = created.date().isoformat()
                batch.append(PaperRecord(
                    title=" ".join(rec["title"].split()), abstract=" ".join(rec["abstract"].split()),
                    arxiv_id=rec["id"], links={"arxiv": f"https://arxiv.org/abs/{rec['id']}"},
                    categories=rec["categories"].split()))
            await flush()
        finally:
            await db.close()

    asyncio.run(build())
    building.replace(path)
    return path


def _papers(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])


def _database(size: int, seed: int) -> Path:
    try:
        path = ensure_database(size, seed)
        problem = f"it holds {_papers(path):,} papers" if _papers(path) < size * 0.9 else ""
    except BenchError as exc:
        problem = str(exc).splitlines()[0]
    if not problem:
        return path
    print(f"bench search: ensure_database({size}) is unusable ({problem}); "
          "loading the corpus with the Loader instead", file=sys.stderr)
    return _fallback_database(size, seed)


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for size in args.sizes:
        path = args.db or _database(size, args.seed)
        rows += asyncio.run(_measure(path, size, args.repeat))
        if args.db is not None:
            break
    return rows
