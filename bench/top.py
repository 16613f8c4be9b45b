"""/top: a server's most voted papers of a week, a month and all time, against the query it replaced.

Database: a copy of `bench.corpus.ensure_database(size)` (never the shared file: opening it
applies migration 0015), with upvotes on every tenth paper's listings (0-499, as Hugging Face
gives them; the synthetic corpus has none) and --votes votes by 300 members on random papers
over the last 60 days. Timed: `bot.community.top.top` for each period, and its upvote ranking
(`storage.votes.top_upvoted`) alone, --repeat runs (median (min-max)). Baseline, same run: the
upvote ranking as first written, one statement for every period with `(? IS NULL OR d.date >= ?)`
(no index on the date could serve it), on the archive without 0015's partial index of upvoted
listings (dropped from the copy after the other timings).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

from bench.common import OUT, Row, remove_database, spread
from bench.corpus import ensure_database
from bot.community.top import top
from storage import votes
from storage.backends import open_database

NAME = "top"
DESCRIPTION = "/top (votes + log-scaled source upvotes) per period, beside the first query's full scan"
_OLD_UPVOTED = ("SELECT e.paper_id, max(e.upvotes) AS up FROM digest_entries AS e JOIN digests AS d"
                " ON d.id = e.digest_id WHERE e.upvotes IS NOT NULL AND (?1 IS NULL OR d.date >= ?1)"
                " GROUP BY e.paper_id ORDER BY up DESC, e.paper_id LIMIT ?2")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--votes", type=int, default=2000, help="votes cast before timing (default 2000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (default 5)")
    parser.set_defaults(sizes=[100_000])


def _prepare(size: int, seed: int) -> Path:
    path = OUT / f"top-{size}-s{seed}.db"
    remove_database(path)
    shutil.copyfile(ensure_database(size, seed), path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE digest_entries SET upvotes = abs(random()) % 500 WHERE paper_id % 10 = 0")
    return path


async def _measure(path: Path, size: int, args: argparse.Namespace) -> list[Row]:
    db = await open_database(path)
    try:
        row = await db.fetchone("SELECT max(date) FROM digests")
        last = dt.datetime.fromisoformat(f"{row[0]}T12:00:00+00:00")
        top_id = (await db.fetchone("SELECT max(id) FROM papers"))[0]
        rnd = random.Random(args.seed)
        async with db.atomic() as tx:
            for i in range(args.votes):
                await votes.cast(tx, "discord:1", f"discord:{i % 300}", rnd.randint(1, top_id),
                                 now=last - dt.timedelta(hours=rnd.randint(0, 24 * 60)))
        cases = (("week", 7), ("month", 30), ("all", None))
        timed: dict[str, dict[str, list[float]]] = {}
        for period, days in cases:
            since = last - dt.timedelta(days=days) if days else None
            times = timed.setdefault(period, {"top": [], "ranking": [], "old": []})
            for _ in range(args.repeat):
                started = time.perf_counter()
                await top(db, "discord:1", since, 10)
                times["top"].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                await votes.top_upvoted(db, since.date() if since else None, 10)
                times["ranking"].append((time.perf_counter() - started) * 1000)
        # The baseline: the first query, on the archive as it was before 0015's partial index.
        await db.execute("DROP INDEX digest_entries_upvoted")
        for period, days in cases:
            since = last - dt.timedelta(days=days) if days else None
            for _ in range(args.repeat):
                started = time.perf_counter()
                await db.fetchall(_OLD_UPVOTED, (since.date().isoformat() if since else None, 10))
                timed[period]["old"].append((time.perf_counter() - started) * 1000)
        rows = []
        for period, times in timed.items():
            ratio = statistics.median(times["old"]) / statistics.median(times["ranking"])
            rows.append(Row(NAME, f"{size:,} papers, {period}", {
                "/top ms": spread(times["top"]), "upvote ranking ms": spread(times["ranking"]),
                "first query, before 0015 ms": spread(times["old"]), "ranking ratio": f"{ratio:.1f}x"}))
        return rows
    finally:
        await db.close()


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for size in args.sizes:
        path = _prepare(size, args.seed)
        try:
            rows += asyncio.run(_measure(path, size, args))
        finally:
            remove_database(path)
    return rows
