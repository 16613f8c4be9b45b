"""Title look-up (`paperboy paper`, /paper and its autocomplete) on SQLite and on PostgreSQL, the
same corpus and queries in the same run (issue #16: p95 <= 30 ms at 1M on PostgreSQL).

The index is in memory either way; what the backend adds to a look-up is its queries (an exact
reference tried first, then one query for the hits' details). Each size loads the synthetic
corpus plus the sample digest through the Loader into a SQLite file and into a database on a
throw-away PostgreSQL server (testkit.pg_server), starts a LookupService on each (a build, then
the measured start from the snapshot), and times every noisy query of the fuzzy bench as a full
look-up and as autocomplete (each prefix typed as it grows, answers not remembered). Then, on
PostgreSQL, two services on two handles stand for two processes: one loads a digest, and the
time until the other's look-up finds its paper is the cross-process delay (several times).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import time
from typing import Any

from bench.common import Machine, Row

NAME = "lookup-backends"
DESCRIPTION = "title look-up on SQLite vs PostgreSQL: p50/p95 of look-ups and autocomplete, cross-process delay"


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def _ready_postgres(url: str, size: int, seed: int) -> None:
    """The fuzzy bench's corpus (synthetic papers by day, then the sample digest), loaded as one
    bulk run (COPY) rather than a load per day."""
    from bench.common import SAMPLE_DATE
    from bench.corpus import generate, sample_titles
    from storage.backends import open_database
    from storage.loader import Loader
    from storage.records import PaperRecord, ParsedDigest

    async with await open_database(url) as db:
        row = await db.fetchone("SELECT COUNT(*) FROM papers")
        if row is not None and int(row[0]) >= size:
            return
        by_day: dict[dt.date, list[PaperRecord]] = {}
        for record in generate(size, seed):
            created = dt.datetime.strptime(record["versions"][0]["created"], "%a, %d %b %Y %H:%M:%S GMT").date()
            by_day.setdefault(created, []).append(PaperRecord(
                title=" ".join(record["title"].split()), abstract="", arxiv_id=record["id"], published=created))
        digests = [ParsedDigest("arxiv-synthetic", day, "arxiv-snapshot", papers, complete=False)
                   for day, papers in sorted(by_day.items())]
        loader = Loader(db)
        async with loader.bulk(size):
            await loader.load_many(digests)
        await loader.load(ParsedDigest("hf-daily", dt.date.fromisoformat(SAMPLE_DATE), "hf-page",
                                       [PaperRecord(title=t, abstract="") for t in sample_titles()]))


async def _measure(address: str, backend: str, size: int) -> list[Row]:
    from bench.corpus import sample_titles
    from bench.fuzzy import clear_snapshot, noisy_queries
    from bot.lookup.service import LookupService
    from storage.backends import open_database

    machine = Machine()
    queries = noisy_queries(sample_titles())
    async with await open_database(address) as db:
        await clear_snapshot(db)
        t0 = time.perf_counter()
        first = LookupService(db)
        await first.start()
        build = time.perf_counter() - t0
        await first.close()
        t0 = time.perf_counter()
        service = LookupService(db, answers_kept=0)
        report = await service.start()
        startup = time.perf_counter() - t0
        try:
            full: list[float] = []
            for q in queries:
                t0 = time.perf_counter()
                await service.lookup(q.query, 5)
                full.append((time.perf_counter() - t0) * 1000)
            typed: list[float] = []
            for q in queries[::4]:
                for end in range(3, len(q.query) + 1, 3):
                    t0 = time.perf_counter()
                    await service.autocomplete(q.query[:end])
                    typed.append((time.perf_counter() - t0) * 1000)
        finally:
            await service.close()
        await clear_snapshot(db)
    return [Row(NAME, f"{backend}, {size:,} papers", {
        "lookups": len(full), "p50_ms": _pct(full, 50), "p95_ms": _pct(full, 95),
        "autocompletes": len(typed), "ac_p50_ms": _pct(typed, 50), "ac_p95_ms": _pct(typed, 95),
        "build_s": build, "startup_s": startup, "from_snapshot": report.from_snapshot, **machine.values()})]


async def _cross_process(url: str, rounds: int = 10) -> Row:
    from bot.lookup.service import LookupService
    from storage.backends import open_database
    from storage.loader import Loader
    from storage.records import PaperRecord, ParsedDigest

    one, other = await open_database(url), await open_database(url)
    here, there = LookupService(one, poll_every=3600), LookupService(other, poll_every=3600)
    delays: list[float] = []
    try:
        await here.start()
        await there.start()
        for n in range(rounds):
            title = f"Zyxwvut Cross Process Probe Number {n} Qqqq{n}"
            await Loader(one).load(ParsedDigest("bench-probe", dt.date(2030, 1, 1) + dt.timedelta(days=n), "hf-api",
                                                [PaperRecord(title, "", arxiv_id=f"3001.{n:05d}")]))
            t0 = time.perf_counter()
            while not any(h.arxiv_id == f"3001.{n:05d}" for h in await there.lookup(f"zyxwvut probe qqqq{n}", 3)):
                if time.perf_counter() - t0 > 30:
                    break
                await asyncio.sleep(0.005)
            delays.append((time.perf_counter() - t0) * 1000)
    finally:
        await there.close()
        await here.close()
        await other.close()
        await one.close()
    return Row(NAME, "postgres, a load in one process found by another's look-up", {
        "rounds": rounds, "pushed": there.pushed, "p50_ms": _pct(delays, 50), "max_ms": max(delays)})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-url", default=None, metavar="URL",
                        help="a PostgreSQL server to use (default: a throw-away one started here)")


def run(args: argparse.Namespace) -> list[Row]:
    from bench.fuzzy import database_for
    from testkit import pg_server

    sizes = args.sizes or [100_000]
    server = None if args.pg_url else pg_server.start()
    rows: list[Row] = []
    try:
        for size in sizes:
            path = database_for(size, args.seed, own=True)
            rows += asyncio.run(_measure(str(path), "sqlite", size))
            if server is not None:
                asyncio.run(_create(server.url, f"lookup_{size}"))
                url = server.database_url(f"lookup_{size}")
            else:
                url = args.pg_url
            t0 = time.perf_counter()
            asyncio.run(_ready_postgres(url, size, args.seed))
            load_s = time.perf_counter() - t0
            measured = asyncio.run(_measure(url, "postgres", size))
            measured[0].values["corpus_load_s"] = round(load_s, 1)
            rows += measured
            rows.append(asyncio.run(_cross_process(url)))
    finally:
        if server is not None:
            server.stop()
    return rows


async def _create(admin_url: str, name: str) -> None:
    import asyncpg

    conn: Any = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
