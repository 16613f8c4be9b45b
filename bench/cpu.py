"""CPU per operation of the hot paths, in this process, on the corpus database: the title index's
look-ups (autocomplete prefixes, /paper titles, close matches of a stored title as the web paper
page asks for them) and keyword searches (the latency bench's /search mix).

What #14's latency and #17's web bench queue behind is CPU per command, and on a shared machine
process time is steadier than wall time; this bench measures it without the transport, each case
`--repeat` passes after a warm-up pass (the index's scratch arrays and search's index-state look-ups
built), reporting the median and the fastest pass. The `answers` column is a digest of every
answer (paper ids in order, search scores and counts): the same digest on two commits means the
change left the results alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import Machine, Row, spread
from bench.corpus import ensure_database, sample_titles
from bench.discord_latency import QUERIES
from bot.display.titles import shown_title
from bot.lookup.sync import TitleIndexSync
from storage.backends import open_database
from storage.search import parse
from storage.search.fts import SearchFilters
from storage.search.fts import search as fts_search

NAME = "cpu"
DESCRIPTION = "CPU per look-up and per search on a warm index (autocomplete, /paper, close matches, /search)"
CLOSE_TITLES = 200  # stored titles whose close matches are looked up


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[1_000_000])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per case (default: %(default)s)")


def _stored_titles(path: Path, count: int) -> list[str]:
    """Titles spread over the whole archive, as the web bench's random paper pages ask for them."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT title FROM papers WHERE id % 997 = 5 ORDER BY id LIMIT ?", (count,))
        return [shown_title(r[0]) for r in rows]


def _digest(answers: Sequence[Any]) -> str:
    return hashlib.sha256(json.dumps(answers).encode()).hexdigest()[:12]


async def _measure(path: Path, repeat: int) -> list[tuple[str, int, list[float], str]]:
    db = await open_database(path, migrate=False)
    try:
        sync = TitleIndexSync(db)
        await sync.start(save=False)  # the bench database is shared: no snapshot written into it
        index = sync.index
        index.warm()
        titles = sample_titles()
        lookups: list[tuple[str, list[str], Callable[[str], Any]]] = [
            ("autocomplete, 144 sample-title prefixes", [t[: 4 + i % 12].casefold() for i, t in enumerate(titles)],
             lambda q: [m.paper_id for m in index.search(q, 25, prefix=True)]),
            ("/paper, 144 sample titles' first 60 characters", [t[:60] for t in titles],
             lambda q: [m.paper_id for m in index.search(q, 25)]),
            (f"close matches, {CLOSE_TITLES} stored titles", _stored_titles(path, CLOSE_TITLES),
             lambda q: [m.paper_id for m in index.search(q, 25)]),
        ]
        out = []
        for case, queries, look_up in lookups:
            answers = [look_up(q) for q in queries]  # warm-up pass
            passes = []
            for _ in range(repeat):
                started = time.process_time()
                for q in queries:
                    look_up(q)
                passes.append((time.process_time() - started) / len(queries) * 1000)
            out.append((case, len(queries), passes, _digest(answers)))

        async def searches() -> list[Any]:
            found = []
            for q in QUERIES:
                page = await fts_search(db, parse(q), SearchFilters(), limit=10)
                found.append([[h.paper_id, h.score] for h in page.hits] + [page.count])
            return found

        answers = await searches()
        passes = []
        for _ in range(repeat):
            started = time.process_time()  # the SQLite thread's CPU included: it is this process's
            await searches()
            passes.append((time.process_time() - started) / len(QUERIES) * 1000)
        out.append((f"search, {len(QUERIES)} queries of the latency mix (limit 10)", len(QUERIES), passes,
                    _digest(answers)))
        return out
    finally:
        await db.close()


def run(args: argparse.Namespace) -> list[Row]:
    rows = []
    for size in args.sizes:
        path = ensure_database(size, args.seed)
        machine = Machine()
        measured = asyncio.run(_measure(path, args.repeat))
        for case, ops, passes, answers in measured:
            rows.append(Row(NAME, f"{size:,} {case}", {
                "ops": ops, "CPU ms/op": spread(passes), "fastest pass ms/op": round(min(passes), 2),
                "answers": answers}))
        for row in rows[-len(measured):]:
            row.values.update(machine.values())
    return rows
