"""Keyword search latency, in-process after start-up, on SQLite and on PostgreSQL in the same run,
each against its backend's plain ranking.

For each corpus size, a fixed mix of queries (terms in most abstracts, phrases, exclusions, OR,
prefixes, title-only, rare terms, filters, a second page) runs `bot.search.service.search` REPEAT times
each on one open database; the baseline is `SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?
ORDER BY rank LIMIT 10` with the same compiled MATCH expression (no filters, no snippets).
The summary row gives p95 over every run of the mix and the baseline/search ratio. Search keeps
prefix expansions and idf counts until the index changes (storage.sqlite.search.index_cache), so the
repeated runs are warm; REPEAT more runs, each after dropping them (the database pages already
read), are reported apart as "uncached".

The database comes from `bench.corpus.ensure_database(size)` (built by the real `paperboy
ingest`); when that cannot run, a fallback loads the same generated corpus with the Loader,
one digest per submission day. PostgreSQL measures the same archive, copied row for row
(bench.pg_archive) into a throw-away server (testkit.pg_server), or into `--pg-url`'s server,
where a database `paperboy_bench_SIZE` that already holds it is reused. Its baseline is
`ts_rank_cd` over every match, `ORDER BY rank DESC LIMIT 10`, with the same tsquery.
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

import asyncpg

from bench.common import OUT, BenchError, Row, remove_database
from bench.corpus import ensure_database, generate
from bench.pg_archive import copy_archive
from bot.search.service import SearchFilters, search
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.postgres import search as pg_search
from storage.records import PaperRecord, ParsedDigest
from storage.search import parse
from storage.sqlite.search import index_cache
from testkit import pg_server

NAME = "search"
DESCRIPTION = ("keyword search p95 in-process on SQLite and PostgreSQL, each vs its plain ranking (`ORDER BY rank`"
               " / ts_rank_cd, LIMIT 10), over a fixed query mix")
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
    parser.add_argument("--pg-url", help="a PostgreSQL server to keep the copied archive on "
                        "(default: a throw-away one)")
    parser.add_argument("--backends", default="sqlite,postgres", help="which to measure (default: %(default)s)")


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
    # Forget what search kept for this database (either backend's): a first search.
    index_cache._states.pop(db, None)
    pg_search._kept.pop(db, None)
    await search(db, text, filters, cursor=cursor)


# Each backend's plain ranking of every match, best 10: the cost the candidate policy avoids.
BASELINE = {
    "sqlite": "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rank LIMIT 10",
    "postgres": ("SELECT id FROM papers, to_tsquery('english', $1) AS q WHERE search @@ q"
                 " ORDER BY ts_rank_cd(search, q) DESC LIMIT 10"),
}


def _baseline_query(backend: str, text: str) -> str:
    query = parse(text)
    return query.to_fts5() if backend == "sqlite" else pg_search.tsquery_source(query)


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


async def _measure(path: Path, size: int, repeat: int, backend: str = "sqlite",
                   address: str | None = None) -> list[Row]:
    rows: list[Row] = []
    lite = await open_database(path, migrate=False)  # read-only use: never migrate the cached copy
    try:
        resolved = {kind: await _filters(lite, kind) for _, _, kind in MIX}  # the same days on both
    finally:
        await lite.close()
    db = await open_database(address or path, migrate=False)
    name = f"{size:,} {backend}"
    try:
        await search(db, "warm up the page cache")
        all_search: list[float] = []
        all_base: list[float] = []
        all_uncached: list[float] = []
        for label, text, kind in MIX:
            filters = resolved[kind]
            cursor = None
            if kind == "page2":
                cursor = (await search(db, text, filters)).next_cursor
            result = await search(db, text, filters, cursor=cursor)  # pages read in, as for the baseline
            uncached = await _timed(repeat, functools.partial(_uncached, db, text, filters, cursor))
            plain = _baseline_query(backend, text)
            searched = await _timed(repeat, functools.partial(search, db, text, filters, cursor=cursor))
            all_uncached += uncached
            base = await _timed(repeat, functools.partial(db.fetchall, BASELINE[backend], (plain,)))
            all_search += searched
            all_base += base
            rows.append(Row(NAME, f"{name} {label}: {text}" + (f" ({kind})" if kind else ""), {
                "matches": result.count_text, "exact": result.exact, "uncached p95 ms": _percentile(uncached, 95),
                "search p50 ms": statistics.median(searched), "search p95 ms": _percentile(searched, 95),
                "baseline p95 ms": _percentile(base, 95),
            }))
        p95, base95 = _percentile(all_search, 95), _percentile(all_base, 95)
        rows.append(Row(NAME, f"{name} ALL ({len(MIX)} queries x {repeat})", {
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
        db = await open_database(building)
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


async def _pg_copy(path: Path, size: int, server_url: str) -> str:
    """The URL of a PostgreSQL database holding the archive at `path`, copied there unless a
    database of that name already holds as many papers."""
    name = f"paperboy_bench_{size}"
    url = server_url.rsplit("/", 1)[0] + "/" + name
    admin = await asyncpg.connect(server_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            try:
                conn = await asyncpg.connect(url)
                held = await conn.fetchval("SELECT count(*) FROM papers")
                await conn.close()
            except asyncpg.PostgresError:
                held = -1
            if held == _papers(path):
                return url
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    took = await copy_archive(path, url)
    print(f"bench search: copied {path.name} into PostgreSQL: "
          + ", ".join(f"{k} {v:.1f}" for k, v in took.items()), file=sys.stderr)
    return url


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    with contextlib.ExitStack() as stack:
        server_url = getattr(args, "pg_url", None)
        if "postgres" in backends and not server_url:
            server_url = stack.enter_context(pg_server.running()).url
        for size in args.sizes:
            path = args.db or _database(size, args.seed)
            for backend in backends:
                address = asyncio.run(_pg_copy(path, size, server_url)) if backend == "postgres" else None
                rows += asyncio.run(_measure(path, size, args.repeat, backend, address))
            if args.db is not None:
                break
    return rows
