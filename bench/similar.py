"""/similar at scale and in quality (issue #18), each beside its baseline in the same run.

Speed, per --sizes (default 100k and 1M papers): a copy of `bench.corpus.ensure_database(size)`
with the similarity index built by `SimilarIndex.rebuild` (cached as similar-SIZE-sSEED.db; the
build is timed when it happens). Timed: `SimilarService.neighbours(paper, 10)`, what /similar runs,
for --queries random papers (p50 and p95 of the wall time, CPU beside it), against brute force:
the cosine of the query with every stored vector of the archive, read and scored in one scan
(median of --repeat scans, each a different query). Recall@10: the share of the scan's exact 10
nearest (over the same stored vectors) that /similar finds, and that of the inverted index read
whole (every posting of every term, no per-term cap). Then --digests 150-paper digests are loaded
and their papers weighed (`SimilarIndex.index`, what the load's listener runs): the update time
per digest. Disk: the index's tables and indexes (SQLite's dbstat); memory: the query path keeps
nothing between queries, so the process's peak RSS is reported.

Quality, on real arXiv papers (tests/fixtures/real: the RSS listing of all 20 archives for
28 Nov 2024, new, cross-listed and replaced, and the snapshot's first 200 papers; see
PROVENANCE.md there): for each paper, the share of its 10 nearest neighbours whose primary
category is its primary category, for /similar, for brute-force cosine over full (uncut) TF-IDF
vectors of the same terms, for plain title-word overlap (the 10 papers sharing most title words),
and for 10 random papers; and /similar's recall@10 against the full vectors.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import heapq
import io
import math
import random
import resource
import shutil
import sqlite3
import statistics
import time
from collections import Counter
from pathlib import Path

from bench.common import OUT, Machine, Row, remove_database, spread
from bench.corpus import ensure_database
from bot.ingest.formats import ParseContext, parse
from bot.similar import SimilarIndex, SimilarService
from bot.similar.backfill import Backfill
from bot.similar.service import PER_TERM, RERANK
from bot.similar.text import terms, words
from bot.similar.vectors import MAX_DF_SHARE, MIN_CORPUS
from storage import similar as similar_repo
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.papers import get_papers
from storage.records import PaperRecord, ParsedDigest
from storage.similar import unpack

NAME = "similar"
DESCRIPTION = "/similar at 1M papers beside brute-force cosine; update per digest; quality on real arXiv papers"
REAL = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "real"
REAL_FILES = ("rss_2024-11-28_all-archives_aioarxiv.xml", "snapshot_head200_escaped_wanng-ide.jsonl")
_TABLES = ("paper_terms", "similar_vectors", "similar_terms", "sqlite_autoindex_similar_terms_1")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queries", type=int, default=200, help="/similar queries timed per size (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="brute-force scans timed per size (default 5)")
    parser.add_argument("--recall-queries", type=int, default=50,
                        help="queries whose exact neighbours are found by one scan (default 50)")
    parser.add_argument("--digests", type=int, default=5, help="150-paper digests weighed per size (default 5)")
    parser.add_argument("--backfill-seconds", type=float, default=0.0,
                        help="also run the bot's background catch-up on a copy of the unindexed archive for this "
                             "long, timing a paper look-up every 100 ms beside it (default 0: not run)")
    parser.set_defaults(sizes=[100_000, 1_000_000])


# -- speed ----------------------------------------------------------------------------------------

def _indexed(size: int, seed: int) -> tuple[Path, float | None]:
    """The cached indexed copy, and the rebuild's wall seconds when it was built now."""
    path = OUT / f"similar-{size}-s{seed}.db"
    if path.exists():
        with sqlite3.connect(path) as conn:
            done = conn.execute("SELECT (SELECT count(*) FROM similar_vectors) >= (SELECT count(*) FROM papers)"
                                " - 1000").fetchone()[0]
        if done:
            return path, None
    remove_database(path)
    shutil.copyfile(ensure_database(size, seed), path)

    async def build() -> float:
        db = await open_database(path)
        try:
            started = time.perf_counter()
            await SimilarIndex(db).rebuild()
            return time.perf_counter() - started
        finally:
            await db.close()
    return path, asyncio.run(build())


async def _scan(db: Database, queries: dict[int, list[tuple[int, int]]], k: int = 10) -> dict[int, list[int]]:
    """Brute force: every stored vector's cosine with each query, in one pass over the archive."""
    by_term: dict[int, list[tuple[int, int]]] = {}
    for q, vector in queries.items():
        for t, w in vector:
            by_term.setdefault(t, []).append((q, w))
    scores: dict[int, dict[int, int]] = {q: {} for q in queries}
    after = -1
    while True:
        rows = await db.fetchall("SELECT paper_id, terms FROM similar_vectors WHERE paper_id > ? ORDER BY paper_id"
                                 " LIMIT 50000", (after,))
        if not rows:
            break
        for paper_id, blob in rows:
            for t, w in unpack(bytes(blob)):
                hits = by_term.get(t)
                if hits:
                    for q, qw in hits:
                        if q != paper_id:
                            found = scores[q]
                            found[paper_id] = found.get(paper_id, 0) + qw * w
        after = int(rows[-1][0])
    return {q: [i for _, i in heapq.nsmallest(k, ((-s, i) for i, s in found.items()))] for q, found in scores.items()}


def _recall(found: dict[int, list[int]], exact: dict[int, list[int]]) -> float:
    hits = sum(len(set(found[q]) & set(exact[q])) for q in exact)
    return hits / max(1, sum(len(v) for v in exact.values()))


async def _size(db: Database) -> int:
    marks = ", ".join("?" for _ in _TABLES)
    row = await db.fetchone(f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({marks})", _TABLES)  # noqa: S608
    return int(row[0] or 0)


def _digest(texts: list[tuple[str, str]], n: int) -> ParsedDigest:
    """The n-th digest of new papers this bench loads into the cached database (ids never reused)."""
    papers = [PaperRecord(title=f"Bench {n}-{i}: {title}", abstract=abstract, arxiv_id=f"2611.{n * 150 + i:05d}")
              for i, (title, abstract) in enumerate(texts)]
    return ParsedDigest("bench-similar", dt.date(2026, 12, 1) + dt.timedelta(days=n), "hf-api", papers)


async def _speed(path: Path, size: int, built: float | None, args: argparse.Namespace) -> Row:
    machine = Machine()
    db = await open_database(path)
    try:
        rnd = random.Random(args.seed)
        top = int((await db.fetchone("SELECT max(paper_id) FROM similar_vectors"))[0])
        service = SimilarService(db)
        wall, cpu, found = [], [], {}
        picked: list[int] = []
        while len(picked) < args.queries:
            papers = await get_papers(db, [rnd.randint(1, top) for _ in range(args.queries)])
            picked += [p.id for p in papers][:args.queries - len(picked)]
        for paper in await get_papers(db, picked):
            started, used = time.perf_counter(), time.process_time()
            matches = await service.neighbours(paper, 10)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - used) * 1000)
            found[paper.id] = [m.paper.id for m in matches]
        recall_ids = picked[:args.recall_queries]
        vectors = await similar_repo.vectors(db, recall_ids)
        exact = await _scan(db, vectors)
        whole = {}
        for q, vector in vectors.items():
            rows = await similar_repo.candidates(db, vector, per_term=10**9, limit=10, exclude=q)
            whole[q] = [i for i, _ in rows]
        scans = []
        for q in picked[-args.repeat:]:
            started = time.perf_counter()
            await _scan(db, await similar_repo.vectors(db, [q]))
            scans.append((time.perf_counter() - started) * 1000)
        texts = [(p.title, p.abstract) for p in await get_papers(db, [rnd.randint(1, top) for _ in range(
            150 * args.digests * 2)])]
        updates = []
        done = int((await db.fetchone("SELECT count(*) FROM digests WHERE source = 'bench-similar'"))[0])
        for n in range(args.digests):
            result = await Loader(db).load(_digest(texts[n * 150:(n + 1) * 150], done + n))
            assert len(result.paper_ids) == 150 and result.new == 150, result
            started = time.perf_counter()
            await SimilarIndex(db).index(list(result.paper_ids))
            updates.append((time.perf_counter() - started) * 1000)
        disk = await _size(db)
        index = await similar_repo.size(db)
    finally:
        await db.close()
    p95 = sorted(wall)[math.ceil(0.95 * len(wall)) - 1]
    return Row(NAME, f"{size:,} papers", {
        "/similar p50 ms": round(statistics.median(wall), 1), "/similar p95 ms": round(p95, 1),
        "/similar CPU ms": spread(cpu), "brute-force scan ms": spread(scans),
        "p50 ratio": f"{statistics.median(scans) / statistics.median(wall):.0f}x",
        "recall@10 vs exact": round(_recall(found, exact), 3),
        "recall@10, every posting": round(_recall(whole, exact), 3),
        "update per 150-paper digest ms": spread(updates),
        "index on disk MB": round(disk / 2**20), "postings": index.postings, "terms": index.terms,
        "rebuild s": round(built) if built is not None else "cached",
        "peak RSS MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        **machine.values()})


async def _probe(db: Database, top: int, seconds: float, rnd: random.Random) -> list[float]:
    """A command's database work (a paper by id) every 100 ms for `seconds`: its wall times, ms."""
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        await get_papers(db, [rnd.randint(1, top)])
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.1)
    return times


async def _backfill(size: int, args: argparse.Namespace) -> Row:
    """The catch-up (bot/similar/backfill.py) on a copy of the archive without vectors: papers
    weighed a second, and a look-up's latency beside it against the same look-up alone."""
    path = OUT / f"similar-backfill-{size}.db"
    remove_database(path)
    shutil.copyfile(ensure_database(size, args.seed), path)
    machine = Machine()
    db = await open_database(path)
    try:
        rnd = random.Random(args.seed)
        top = int((await db.fetchone("SELECT max(id) FROM papers") or [0])[0])
        alone = await _probe(db, top, min(20.0, args.backfill_seconds / 3), rnd)
        backfill = Backfill(db)
        started = time.perf_counter()
        backfill.start()
        beside = await _probe(db, top, args.backfill_seconds, rnd)
        await backfill.stop()
        took = time.perf_counter() - started
        done = int((await db.fetchone("SELECT count(*) FROM similar_vectors") or [0])[0])
    finally:
        await db.close()
        remove_database(path)

    def p95(values: list[float]) -> float:
        return round(sorted(values)[math.ceil(0.95 * len(values)) - 1], 1)
    return Row(NAME, f"catch-up, {size:,} papers", {
        "papers weighed": done, "seconds": round(took, 1), "papers/s": round(done / took),
        "whole archive at this rate, min": round(size / max(1, done / took) / 60),
        "look-up p50 / p95 ms, alone": f"{statistics.median(alone):.1f} / {p95(alone)}",
        "look-up p50 / p95 ms, beside the catch-up": f"{statistics.median(beside):.1f} / {p95(beside)}",
        **machine.values()})


# -- quality --------------------------------------------------------------------------------------

async def _load_real(path: Path) -> None:
    db = await open_database(path)
    try:
        for name in REAL_FILES:
            data = (REAL / name).read_bytes()
            ctx = ParseContext(name=name, today=dt.date(2026, 12, 1),
                               announce_types=frozenset({"new", "cross", "replace"}))
            _, batches = parse(io.BufferedReader(io.BytesIO(data)), ctx)  # type: ignore[arg-type]
            await Loader(db).load_many(list(batches))
        await SimilarIndex(db).rebuild()
    finally:
        await db.close()


def _full_vectors(docs: dict[int, Counter[str]]) -> dict[int, dict[str, float]]:
    """Uncut TF-IDF vectors (the same terms, weights and max_df as the index), unit length."""
    df: Counter[str] = Counter()
    for counts in docs.values():
        df.update(counts.keys())
    n = len(docs)
    most = MAX_DF_SHARE * n if n >= MIN_CORPUS else math.inf
    out = {}
    for i, counts in docs.items():
        v = {t: (1 + math.log(tf)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, tf in counts.items()
             if 1 < df[t] <= most}
        norm = math.sqrt(sum(w * w for w in v.values())) or 1.0
        out[i] = {t: w / norm for t, w in v.items()}
    return out


def _nearest_full(vectors: dict[int, dict[str, float]], k: int = 10) -> dict[int, list[int]]:
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, v in vectors.items():
        for t, w in v.items():
            postings.setdefault(t, []).append((i, w))
    out = {}
    for i, v in vectors.items():
        scores: dict[int, float] = {}
        for t, w in v.items():
            for j, wj in postings[t]:
                if j != i:
                    scores[j] = scores.get(j, 0.0) + w * wj
        out[i] = [j for _, j in heapq.nsmallest(k, ((-s, j) for j, s in scores.items()))]
    return out


def _nearest_titles(titles: dict[int, set[str]], k: int = 10) -> dict[int, list[int]]:
    out = {}
    for i, mine in titles.items():
        shared = ((len(mine & other), j) for j, other in titles.items() if j != i)
        out[i] = [j for _, j in heapq.nsmallest(k, ((-s, j) for s, j in shared if s > 0))]
    return out


async def _quality(args: argparse.Namespace) -> list[Row]:
    path = OUT / "similar-real.db"
    remove_database(path)
    machine = Machine()
    await _load_real(path)
    db = await open_database(path)
    try:
        ids = [int(r[0]) for r in await db.fetchall("SELECT id FROM papers ORDER BY id")]
        papers = {p.id: p for p in await get_papers(db, ids)}
        primary = {i: p.categories[0] for i, p in papers.items() if p.categories}
        service = SimilarService(db)
        ours = {i: [m.paper.id for m in await service.neighbours(papers[i], 10)] for i in primary}
    finally:
        await db.close()
        remove_database(path)
    full = _nearest_full(_full_vectors({i: terms(p.title, p.abstract) for i, p in papers.items()}))
    titles = _nearest_titles({i: set(words(p.title)) for i, p in papers.items()})
    rnd = random.Random(args.seed)
    pool = list(primary)
    randoms = {i: rnd.sample([j for j in pool if j != i], 10) for i in primary}

    def share(found: dict[int, list[int]]) -> str:
        same = sum(primary.get(j) == primary[i] for i in primary for j in found.get(i, []))
        listed = sum(len(found.get(i, [])) for i in primary)
        return f"{same / max(1, listed):.3f} ({listed / len(primary):.1f} a paper)"

    recall = _recall({i: ours[i] for i in primary}, {i: full[i] for i in primary})
    return [Row(NAME, f"real arXiv, {len(primary):,} papers, {len(set(primary.values()))} primary categories", {
        "/similar": share(ours), "full TF-IDF, brute force": share(full), "title-word overlap": share(titles),
        "random": share(randoms), "/similar recall@10 vs full": round(recall, 3),
        "top terms a paper": 32, "postings read a term (mean)": PER_TERM, "re-ranked": RERANK, **machine.values()})]


def run(args: argparse.Namespace) -> list[Row]:
    rows = asyncio.run(_quality(args))
    for size in args.sizes:
        path, built = _indexed(size, args.seed)
        rows.append(asyncio.run(_speed(path, size, built, args)))
        if args.backfill_seconds > 0:
            rows.append(asyncio.run(_backfill(size, args)))
    return rows
