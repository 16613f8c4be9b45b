"""Known-item search: is the paper asked for found, whatever its age, and how fast?

For `--items` papers spread evenly over the archive's ids (so over every age, oldest to newest),
two queries each: the words of its title (papers whose title another paper shares are left out:
no query can tell them apart), and 3-5 distinctive words of its abstract (see `_distinctive`:
rare words that together single the paper out; the synthetic abstracts are recombined real
sentences, so a paper's rarest words often come from one sentence that thousands share). Each query runs through
`bot.search.service.search` and through two baselines on the same open database:

- **exact BM25**: `ORDER BY bm25(papers_fts, 10.0, 1.0) LIMIT 10`, every match scored (Paperboy's
  title weight); its success is what a ranking of all matches gets, its time what that costs;
- **same candidates**: the SQL walks Paperboy's candidate policy makes (the WINDOW newest
  matches, then, beyond the window, the WINDOW newest with every clause in the title), with no
  ranking, marking or snippets: the floor of that policy.

Reported per kind of query and age third: success@1 and @10 of Paperboy and of exact BM25, and
the p95 of each over a pass of the queries, median (min-max) over `--repeat` passes, with CPU
time per search. Then for the topical queries of `bench.search` (no filters), the overlap of
Paperboy's top 10 with exact BM25's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Machine, Row, Value, spread
from bench.search import MIX, _database, _percentile
from bot.search.service import search
from storage.backends import open_database
from storage.db import Database
from storage.search import fts, parse
from storage.search.query import words_in
from storage.sqlite.search import scratch

NAME = "relevance"
DESCRIPTION = "known-item search success@1/@10 by age and p95, vs exact BM25 and the same candidate walks"
TARGETS = {"success@1": 0.95, "success@10": 0.99, "p95 ms": 50.0}
BM25 = "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY bm25(papers_fts, 10.0, 1.0) LIMIT 10"
WALK = "SELECT rowid FROM papers_fts WHERE papers_fts MATCH ? ORDER BY rowid DESC LIMIT ?"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000])
    parser.add_argument("--items", type=int, default=150, help="papers looked for (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes (default: %(default)s)")
    parser.add_argument("--db", type=Path, help="measure this database instead of the corpus one")


@dataclass(slots=True)
class Item:
    paper_id: int
    kind: str  # "title" or "abstract"
    age: str  # "oldest third", ...
    query: str
    matching: int = 1  # papers holding every word of the query
    beyond: bool = False  # more matches than the window of newest ones (SearchResult.exact False)
    found: list[int] = field(default_factory=list)  # Paperboy's top 10
    exact: list[int] = field(default_factory=list)  # exact BM25's top 10


def _doc_counts(conn: sqlite3.Connection, sample: int = 20_000) -> dict[str, int]:
    """Index term -> papers holding it among a spread sample of the archive, tokenized in memory
    as papers_fts does (papers_vocab walks a term's whole doclist: 0.3 s for a common word at 1M)."""
    top = int(conn.execute("SELECT MAX(id) FROM papers").fetchone()[0])
    step = max(top // sample, 1)
    memory = sqlite3.connect(":memory:")
    try:
        memory.execute(f"CREATE VIRTUAL TABLE t USING fts5(title, abstract, tokenize='{scratch.TOKENIZE}')")
        memory.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
        memory.executemany("INSERT INTO t(title, abstract) VALUES (?, ?)",
                           conn.execute("SELECT title, abstract FROM papers WHERE id % ? = 0", (step,)))
        return {str(term): int(doc) for term, doc in memory.execute("SELECT term, doc FROM v")}
    finally:
        memory.close()


def _items(conn: sqlite3.Connection, count: int, seed: int) -> tuple[list[Item], int]:
    """The known-item queries, and how many sampled papers shared their title with another."""
    top = int(conn.execute("SELECT MAX(id) FROM papers").fetchone()[0])
    doc_counts = _doc_counts(conn)
    rnd = random.Random(seed)
    items: list[Item] = []
    shared = 0
    for i in range(count):
        wanted = int((i + rnd.random()) * top / count) + 1
        row = conn.execute("SELECT id, title, title_key, abstract FROM papers WHERE id >= ? ORDER BY id LIMIT 1",
                           (wanted,)).fetchone()
        if row is None:
            continue
        pid, title, key, abstract = row
        age = ("oldest third", "middle third", "newest third")[min(3 * i // count, 2)]
        if conn.execute("SELECT COUNT(*) FROM papers WHERE title_key = ?", (key,)).fetchone()[0] > 1:
            shared += 1
        else:
            items.append(Item(pid, "title", age, " ".join(words_in(title))))
        words, matching = _distinctive(conn, doc_counts, abstract, title)
        if words:
            items.append(Item(pid, "abstract", age, " ".join(words), matching))
    return items, shared


def _distinctive(conn: sqlite3.Connection, doc_counts: dict[str, int], abstract: str,
                 title: str) -> tuple[list[str], int]:
    """3-5 abstract words that single the paper out, as someone who read it would recall them,
    and how many papers hold them all: going from the rarest word up (document counts in a
    sample, one word per index term, none of the title's), each word is kept when it narrows
    the papers holding every word kept so far; stop at 3 once the paper is the only one, else
    at 5."""
    in_title = set(scratch.tokens(title))
    docs: dict[str, tuple[int, str]] = {}
    for word in dict.fromkeys(words_in(abstract)):
        terms = scratch.tokens(word)
        if len(terms) != 1 or terms[0] in in_title or terms[0] in docs or any(ch.isdigit() for ch in word):
            continue
        docs[terms[0]] = (doc_counts.get(terms[0], 0), word)
    chosen: list[str] = []
    matching: int | None = None
    for _, word in sorted(docs.values())[:20]:
        match = parse(" ".join([*chosen, word])).to_fts5()
        n = int(conn.execute("SELECT COUNT(*) FROM papers_fts WHERE papers_fts MATCH ?", (match,)).fetchone()[0])
        if matching is None or n < matching:
            chosen.append(word)
            matching = n
        if len(chosen) >= 3 and matching == 1 or len(chosen) == 5:
            break
    return (chosen, matching or 0) if len(chosen) >= 3 else ([], 0)


async def _timed(items: list[Item], call: Callable[[Item], Awaitable[object]]) -> tuple[float, float]:
    """One pass: (p95 ms of the calls, CPU ms per call)."""
    times = []
    cpu = time.process_time()
    for item in items:
        start = time.perf_counter()
        await call(item)
        times.append((time.perf_counter() - start) * 1000)
    return _percentile(times, 95), (time.process_time() - cpu) * 1000 / max(len(items), 1)


async def _walks(db: Database, item: Item) -> None:
    query = parse(item.query)
    rows = await db.fetchall(WALK, (query.to_fts5(), fts.WINDOW + 1))
    if len(rows) > fts.WINDOW:
        await db.fetchall(WALK, (fts.in_title(query).to_fts5(), fts.WINDOW + 1))


def _success(items: list[Item], at: int, exact: bool = False) -> float | None:
    if not items:
        return None
    return sum(i.paper_id in (i.exact if exact else i.found)[:at] for i in items) / len(items)


async def _measure(path: Path, size: int, args: argparse.Namespace) -> list[Row]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        items, shared = _items(conn, args.items, args.seed)
    finally:
        conn.close()
    machine = Machine()
    db = await open_database(path, migrate=False)
    rows: list[Row] = []
    try:
        bm25_ms: dict[int, float] = {}
        for n, item in enumerate(items):
            result = await search(db, item.query)
            item.found, item.beyond = [h.paper_id for h in result.hits], not result.exact
            start = time.perf_counter()
            item.exact = [int(r[0]) for r in await db.fetchall(BM25, (parse(item.query).to_fts5(),))]
            bm25_ms[n] = (time.perf_counter() - start) * 1000
        passes = {"paperboy": [await _timed(items, lambda i: search(db, i.query)) for _ in range(args.repeat)],
                  "same candidates": [await _timed(items, lambda i: _walks(db, i)) for _ in range(args.repeat)]}
        for kind in ("title", "abstract"):
            for age in ("oldest third", "middle third", "newest third", "all ages"):
                chosen = [i for i in items if i.kind == kind and age in ("all ages", i.age)]
                rows.append(Row(NAME, f"{size:,} {kind} words, {age}", {
                    "items": len(chosen), "not unique": sum(i.matching > 1 for i in chosen),
                    "beyond window": sum(i.beyond for i in chosen),
                    "success@1": _success(chosen, 1), "success@10": _success(chosen, 10),
                    "BM25 success@1": _success(chosen, 1, exact=True),
                    "BM25 success@10": _success(chosen, 10, exact=True)}))
        total: dict[str, Value] = {
            "items": len(items), "success@1": _success(items, 1), "success@10": _success(items, 10),
            "BM25 success@1": _success(items, 1, exact=True), "BM25 success@10": _success(items, 10, exact=True)}
        for name, runs in passes.items():
            total[f"{name} p95 ms"] = spread([p for p, _ in runs])
            total[f"{name} CPU ms"] = spread([c for _, c in runs])
        total["BM25 p95 ms (1 run)"] = _percentile(list(bm25_ms.values()), 95)
        total["title shared (left out)"] = shared
        p95 = statistics.median(p for p, _ in passes["paperboy"])
        total["targets met"] = ((_success(items, 1) or 0) >= TARGETS["success@1"]
                                and (_success(items, 10) or 0) >= TARGETS["success@10"] and p95 <= TARGETS["p95 ms"])
        rows.append(Row(NAME, f"{size:,} ALL known items", {**total, **machine.values()}))
        rows += await _topical(db, size)
    finally:
        await db.close()
    return rows


async def _topical(db: Database, size: int) -> list[Row]:
    """Top-10 overlap with exact BM25 for the topical queries of the search bench."""
    rows = []
    overlaps = []
    for label, text, kind in MIX:
        if kind:
            continue
        found = [h.paper_id for h in (await search(db, text)).hits]
        exact = [int(r[0]) for r in await db.fetchall(BM25, (parse(text).to_fts5(),))]
        overlap = len(set(found) & set(exact)) / max(len(exact), 1) if exact else None
        if overlap is not None:
            overlaps.append(overlap)
        rows.append(Row(NAME, f"{size:,} topical {label}: {text}", {"top-10 overlap with BM25": overlap}))
    rows.append(Row(NAME, f"{size:,} topical ALL", {
        "top-10 overlap with BM25": statistics.mean(overlaps) if overlaps else None}))
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for size in args.sizes:
        path = args.db or _database(size, args.seed)
        rows += asyncio.run(_measure(path, size, args))
        if args.db is not None:
            break
    return rows
