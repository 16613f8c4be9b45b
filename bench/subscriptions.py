"""Topic matching for notifications: one digest against 100k subscriptions, vs one FTS5 query each.

Database: a copy of `bench.corpus.ensure_database(size)` (the synthetic corpus plus the real
144-paper sample digest), with --subscriptions subscriptions over about --topics distinct topics
drawn from the corpus vocabulary less the words in over a tenth of the papers (single words, AND
pairs, phrases, OR, exclusions, prefixes, title-only), popular topics shared by many users (Zipf-like).

Measured in one process: matching the sample digest's papers against every active topic the way
the after_load hook does (read the distinct topics, tokenize the digest, evaluate, fan out to
subscribers) with cold caches (the first digest after start-up without `warm_up`: every topic
parsed and tokenized inside the load), after `notify.warm_up` (what the bot does at start-up),
and warm (median (min-max) of --repeat runs); the whole hook inside a write transaction that is
then rolled back (matching plus queueing the notifications: the time other writers wait), --repeat
runs, with the process's CPU time and the delivery_papers rows written; Python heap peak
(tracemalloc) and process peak RSS. Baseline, in the same run: `storage.search.fts.matching_ids`
(one FTS5 query restricted to the digest) for a random sample of the distinct topics, scaled to
all of them (matching works per distinct topic, so the baseline does too). Then how matching time grows with the
number of distinct topics and of papers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import shutil
import statistics
import time
import tracemalloc
from pathlib import Path

from bench.common import OUT, SAMPLE_DATE, Machine, Row, spread
from bench.corpus import ensure_database, sample_papers
from bot.subscriptions import matching
from bot.subscriptions.notify import queue_for_digest, warm_up
from bot.subscriptions.topics import SubscriptionError, parse_topic, query_of
from storage import subscriptions as sub_repo
from storage.db import Database
from storage.search.fts import matching_ids

NAME = "subscriptions"
DESCRIPTION = ("match + queue one digest for 100k subscriptions (~30k topics), time in the write transaction,"
               " vs one FTS5 query per distinct topic")
TARGET_SECONDS = 1.0
TARGET_TXN_SECONDS = 2.0  # the digest's write transaction, held while matching and queueing


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000])
    parser.add_argument("--subscriptions", type=int, default=100_000, help="subscriptions (default: %(default)s)")
    parser.add_argument("--topics", type=int, default=30_000, help="distinct topics (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5, help="warm and in-transaction runs (default: %(default)s)")
    parser.add_argument("--baseline-sample", type=int, default=2000,
                        help="subscriptions timed with the FTS5 baseline, then scaled (default: %(default)s)")


def _topics(count: int, rng: random.Random) -> list[str]:
    """`count` distinct canonical topic keys from the sample texts' words."""
    texts = [f"{p.title} {p.abstract}".lower() for p in sample_papers()]
    runs = [[w.strip(".,:;()[]\"'") for w in t.split()] for t in texts]
    runs = [[w for w in r if len(w) >= 3 and w.isalpha()] for r in runs]
    # Words in more than a tenth of the papers ("the", "model", "results") are left out: nobody
    # follows them, and they would turn every topic into a match for most of the digest.
    df: dict[str, int] = {}
    for r in runs:
        for w in set(r):
            df[w] = df.get(w, 0) + 1
    vocab = sorted(w for w, n in df.items() if n <= len(runs) // 10)
    keys: dict[str, None] = {}
    while len(keys) < count:
        a, b, c = rng.sample(vocab, 3)
        shape = rng.random()
        if shape < 0.25:
            text = a
        elif shape < 0.55:
            text = f"{a} {b}"
        elif shape < 0.75:
            run = rng.choice(runs)
            i = rng.randrange(max(len(run) - 2, 1))
            text = '"' + " ".join(run[i:i + rng.choice((2, 3))]) + '"'
        elif shape < 0.85:
            text = f"{a} OR {b}"
        elif shape < 0.92:
            text = f"{a} {b} -{c}"
        elif shape < 0.96:
            text = f"{a[:4]}* {b}"
        else:
            text = f"title:{a}"
        try:
            keys[parse_topic(text).key] = None
        except SubscriptionError:
            continue
    return list(keys)


async def _populate(db: Database, keys: list[str], subscriptions: int, rng: random.Random) -> None:
    users = max(subscriptions // 10, 1)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(keys))]
    chosen = keys + rng.choices(keys, weights, k=max(subscriptions - len(keys), 0))
    pairs: dict[tuple[str, str], None] = {}
    for i, key in enumerate(chosen):
        user = f"console:u{(i * 7919) % users}"
        while (user, key) in pairs:
            user = f"console:u{rng.randrange(users)}"
        pairs[(user, key)] = None
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM delivery_papers")
        await conn.execute("DELETE FROM deliveries")
        await conn.execute("DELETE FROM subscriptions")
        await conn.execute("DELETE FROM subscription_users")
        await conn.executemany(
            "INSERT INTO subscription_users (user_id, created_at, updated_at) VALUES (?, '2025-01-01', '2025-01-01')",
            [(u,) for u in dict.fromkeys(u for u, _ in pairs)])
        await conn.executemany(
            "INSERT INTO subscriptions (user_id, topic, query, created_at) VALUES (?, ?, ?, '2025-01-01')",
            [(u, k, k) for u, k in pairs])


def _cold() -> None:
    matching._tokens.clear()
    query_of.cache_clear()


async def _match(db: Database, paper_ids: tuple[int, ...]) -> tuple[float, int, int]:
    """The hook's matching step: seconds, topics matched, (user, topic) pairs fanned out."""
    start = time.perf_counter()
    keys = await sub_repo.active_queries(db.conn)
    papers = await sub_repo.read_papers(db.conn, paper_ids)
    found = matching.match(matching.DigestIndex.build(papers), keys)
    subs = await sub_repo.active_subscribers(db.conn, list(found))
    return time.perf_counter() - start, len(found), len(subs)


async def _hook(db: Database, digest_id: int, paper_ids: tuple[int, ...]) -> tuple[float, float, int, int]:
    """The whole after_load hook (match + queue) inside a write transaction, then rolled back:
    (seconds from BEGIN to the hook's end, CPU seconds of this process, notifications, rows of
    delivery_papers written)."""
    start = time.perf_counter()
    cpu = time.process_time()
    try:
        async with db.transaction() as conn:
            made = await queue_for_digest(conn, digest_id, paper_ids)
            elapsed, used = time.perf_counter() - start, time.process_time() - cpu
            async with conn.execute("SELECT COUNT(*) FROM delivery_papers") as cursor:
                row = await cursor.fetchone()
            raise _Rollback(elapsed, used, len(made), int(row[0]) if row else 0)
    except _Rollback as done:
        return done.seconds, done.cpu, done.count, done.rows
    raise AssertionError("unreachable")


class _Rollback(Exception):
    def __init__(self, seconds: float, cpu: float, count: int, rows: int) -> None:
        super().__init__()
        self.seconds, self.cpu, self.count, self.rows = seconds, cpu, count, rows


async def _measure(path: Path, args: argparse.Namespace, size: int) -> list[Row]:
    rng = random.Random(args.seed)
    rows: list[Row] = []
    machine = Machine()
    db = await Database.open(path)
    try:
        keys = _topics(args.topics, rng)
        await _populate(db, keys, args.subscriptions, rng)
        row = await db.fetchone("SELECT id FROM digests WHERE source = 'hf-daily' AND date = ?", (SAMPLE_DATE,))
        assert row is not None, "the sample digest is missing from the bench database"
        digest_id = int(row[0])
        ids = tuple(int(r[0]) for r in await db.fetchall(
            "SELECT paper_id FROM digest_entries WHERE digest_id = ? ORDER BY position", (digest_id,)))
        case = f"{size:,} papers, {args.subscriptions:,} subs, {len(keys):,} topics, digest of {len(ids)}"

        _cold()
        cold, matched, fanned = await _match(db, ids)
        _cold()
        start = time.perf_counter()
        await warm_up(db)
        warm_up_s = time.perf_counter() - start
        warm_runs = [(await _match(db, ids))[0] for _ in range(args.repeat)]
        warm = statistics.median(warm_runs)
        tracemalloc.start()
        await _match(db, ids)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        hooks = [await _hook(db, digest_id, ids) for _ in range(args.repeat)]
        queued, written = hooks[0][2], hooks[0][3]

        sample = rng.sample(keys, min(args.baseline_sample, len(keys)))
        start = time.perf_counter()
        agree = 0
        index = matching.DigestIndex.build(await sub_repo.read_papers(db.conn, ids))
        for key in sample:  # distinct topics
            theirs = await matching_ids(db, query_of(key), ids)
            agree += theirs == set(matching.match_one(index, key))
        per_query = (time.perf_counter() - start) / len(sample)
        baseline = per_query * len(keys)  # matching is per distinct topic, and so is the baseline
        rows.append(Row(NAME, case, {
            "match cold s": cold, "warm_up s": warm_up_s, "match warm s": spread(warm_runs),
            "in write txn s": spread([h[0] for h in hooks]), "in write txn CPU s": spread([h[1] for h in hooks]),
            "topics matched": matched, "subscriptions hit": fanned, "notifications": queued,
            "rows queued": written,
            "heap peak MB": peak / 1e6, "max RSS MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "baseline s (per topic, scaled)": baseline, "baseline/match cold": baseline / cold,
            "baseline/match warm": baseline / warm,
            f"FTS5 agrees ({len(sample)})": f"{agree}/{len(sample)}",
            f"warm <= {TARGET_SECONDS:.0f} s": warm <= TARGET_SECONDS,
            f"txn <= {TARGET_TXN_SECONDS:.0f} s": statistics.median(h[0] for h in hooks) <= TARGET_TXN_SECONDS,
            **machine.values(),
        }))

        # Growth: warm matching time by distinct topics (all papers) and by papers (all topics).
        extra = tuple(int(r[0]) for r in await db.fetchall(
            "SELECT id FROM papers WHERE id NOT IN (SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT 432",
            (f"[{','.join(map(str, ids))}]",)))
        papers_all = await sub_repo.read_papers(db.conn, ids + extra)
        for n_topics in (3_000, 10_000, len(keys)):
            for n_papers in (36, 144, 576):
                subset = papers_all[:n_papers]
                start = time.perf_counter()
                matching.match(matching.DigestIndex.build(subset), keys[:n_topics])
                rows.append(Row(NAME, f"growth: {n_topics:,} topics x {len(subset)} papers",
                                {"match warm s": time.perf_counter() - start}))
    finally:
        await db.close()
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for size in args.sizes:
        copy = OUT / f"subscriptions-{size}-s{args.seed}.db"  # ours to write: subscriptions are added to it
        if not copy.exists():
            shutil.copyfile(ensure_database(size, args.seed), copy.with_suffix(".tmp"))
            copy.with_suffix(".tmp").replace(copy)
        rows += asyncio.run(_measure(copy, args, size))
    return rows
