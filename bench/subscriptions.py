"""Topic matching for notifications: one digest against 100k subscriptions, vs one FTS5 query each.

Database: a copy of `bench.corpus.ensure_database(size)` (the synthetic corpus plus the real
144-paper sample digest), with --subscriptions subscriptions over about --topics distinct topics
drawn from the corpus vocabulary less the words in over a tenth of the papers (single words, AND
pairs, phrases, OR, exclusions, prefixes, title-only), popular topics shared by many users (Zipf-like).

Measured in one process: matching the sample digest's papers against every active topic (read
the distinct topics, tokenize the digest, evaluate, fan out to subscribers) with cold caches (the
first digest after start-up without `warm_up`: every topic parsed and tokenized), after
`notify.warm_up` (what the bot does at start-up), and warm (median (min-max) of --repeat runs).

Then the whole path a member feels, --repeat runs: the sample's papers loaded again as a new
digest (the next day's, so it is news) through a Loader wired as the app's (the marker in the
load's transaction, `NotificationQueue` after the commit), timing every write transaction: the
load's own (what other writers wait for while a digest loads), the queueing batches' (the
longest one, their number) and the total from the load's start to the last notification queued,
with the process's CPU time; the digest and its notifications are deleted after each run. Beside
it, in the same run, the way it was before the marker: matching plus queueing every notification
inside one write transaction (rolled back). A stop mid-way through the batches, resumed, must
queue exactly the rows an uninterrupted run does.

Python heap peak (tracemalloc) and process peak RSS. Baseline, in the same run:
`storage.search.fts.matching_ids` (one FTS5 query restricted to the digest) for a random sample
of the distinct topics, scaled to all of them (matching works per distinct topic, so the
baseline does too). Then how matching time grows with the number of distinct topics and of papers.

`--backends sqlite,postgres` adds, in the same run, matching alone (cold, then warm after
`warm_up`) on each backend: a fresh database holding only the sample digest, loaded through the
Loader, and the same subscriptions (PostgreSQL: a throw-away server, testkit.pg_server). The
corpus size does not enter matching (it reads the digest's papers by id), so these rows compare
the backends like for like; `--match-only` skips the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import resource
import shutil
import statistics
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from bench.common import OUT, SAMPLE_DATE, BenchError, Machine, Row, spread
from bench.corpus import ensure_database, sample_papers
from bot.config import SubscriptionSettings
from bot.subscriptions import matching
from bot.subscriptions.notify import NotificationQueue, fan_out, notification_hook, warm_up
from bot.subscriptions.topics import SubscriptionError, parse_topic, query_of
from storage import notifications as notification_repo
from storage import papers as paper_repo
from storage import pending_matches as match_repo
from storage import subscriptions as sub_repo
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.postgres.db import PostgresDatabase
from storage.records import PaperRecord, ParsedDigest
from storage.search.fts import matching_ids
from testkit import pg_server

NAME = "subscriptions"
DESCRIPTION = ("load + match + queue one digest for 100k subscriptions (~30k topics): time in each write"
               " transaction and in all, vs one FTS5 query per distinct topic")
TARGET_SECONDS = 1.0
TARGET_TXN_SECONDS = 2.0  # any one write transaction: the digest's load, or a queueing batch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000])
    parser.add_argument("--subscriptions", type=int, default=100_000, help="subscriptions (default: %(default)s)")
    parser.add_argument("--topics", type=int, default=30_000, help="distinct topics (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5, help="warm and in-transaction runs (default: %(default)s)")
    parser.add_argument("--backends", type=_backends, default=[], metavar="sqlite,postgres",
                        help="also time matching alone on each of these backends, in the same run (default: none)")
    parser.add_argument("--match-only", action="store_true", help="only the --backends rows")
    parser.add_argument("--baseline-sample", type=int, default=2000,
                        help="subscriptions timed with the FTS5 baseline, then scaled (default: %(default)s)")


def _backends(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = set(names) - {"sqlite", "postgres"}
    if unknown:
        raise argparse.ArgumentTypeError(f"not a backend: {', '.join(sorted(unknown))} (sqlite, postgres)")
    return names


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


def _pairs(keys: list[str], subscriptions: int, rng: random.Random) -> list[tuple[str, str]]:
    """(user, topic) of `subscriptions` subscriptions over `keys`, popular topics shared by many."""
    users = max(subscriptions // 10, 1)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(keys))]
    chosen = keys + rng.choices(keys, weights, k=max(subscriptions - len(keys), 0))
    pairs: dict[tuple[str, str], None] = {}
    for i, key in enumerate(chosen):
        user = f"console:u{(i * 7919) % users}"
        while (user, key) in pairs:
            user = f"console:u{rng.randrange(users)}"
        pairs[(user, key)] = None
    return list(pairs)


async def _populate(db: Database, keys: list[str], subscriptions: int, rng: random.Random) -> None:
    pairs = _pairs(keys, subscriptions, rng)
    if isinstance(db, PostgresDatabase):
        await _populate_postgres(db, pairs)
        return
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM delivery_papers")
        await conn.execute("DELETE FROM deliveries")
        await conn.execute("DELETE FROM pending_matches")
        await conn.execute("DELETE FROM digests WHERE source = 'hf-daily' AND date > ?", (SAMPLE_DATE,))
        await conn.execute("DELETE FROM subscriptions")
        await conn.execute("DELETE FROM subscription_users")
        await conn.executemany(
            "INSERT INTO subscription_users (user_id, created_at, updated_at) VALUES (?, '2025-01-01', '2025-01-01')",
            [(u,) for u in dict.fromkeys(u for u, _ in pairs)])
        await conn.executemany(
            "INSERT INTO subscriptions (user_id, topic, query, created_at) VALUES (?, ?, ?, '2025-01-01')",
            [(u, k, k) for u, k in pairs])


async def _populate_postgres(db: PostgresDatabase, pairs: list[tuple[str, str]]) -> None:
    stamp = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    async with db.transaction() as conn:
        await conn.execute("TRUNCATE delivery_papers, deliveries, pending_matches, subscriptions, subscription_users")
        await conn.copy_records_to_table("subscription_users", columns=("user_id", "created_at", "updated_at"),
                                         records=[(u, stamp, stamp) for u in dict.fromkeys(u for u, _ in pairs)])
        await conn.copy_records_to_table("subscriptions", columns=("user_id", "topic", "query", "created_at"),
                                         records=[(u, k, k, stamp) for u, k in pairs])
    await db.execute("ANALYZE subscription_users, subscriptions")


async def _match_alone(address: str, backend: str, keys: list[str], args: argparse.Namespace) -> Row:
    """Matching alone (what `fan_out` reads and computes) on one backend: a fresh database holding
    the sample digest, loaded through the Loader, and the same subscriptions as the main run."""
    db = await open_database(address)
    try:
        result = await Loader(db).load(ParsedDigest(
            "hf-daily", dt.date.fromisoformat(SAMPLE_DATE), "hf-page",
            [PaperRecord(p.title, p.abstract) for p in sample_papers()]))
        ids = tuple(result.paper_ids)
        await _populate(db, keys, args.subscriptions, random.Random(args.seed))
        _cold()
        cold, matched, fanned = await _match(db, ids)
        _cold()
        await warm_up(db)
        warm = [(await _match(db, ids))[0] for _ in range(args.repeat)]
        return Row(NAME, f"matching alone on {backend}: digest of {len(ids)}, {args.subscriptions:,} subs,"
                         f" {len(keys):,} topics", {
            "match cold s": cold, "match warm s": spread(warm), "topics matched": matched,
            "subscriptions hit": fanned, f"warm <= {TARGET_SECONDS:.0f} s": statistics.median(warm) <= TARGET_SECONDS,
        })
    finally:
        await db.close()


async def _match_on_backends(args: argparse.Namespace) -> list[Row]:
    keys = _topics(args.topics, random.Random(args.seed))
    rows = []
    for backend in args.backends:
        if backend == "sqlite":
            path = OUT / f"subscriptions-match-s{args.seed}.db"
            path.unlink(missing_ok=True)
            rows.append(await _match_alone(str(path), backend, keys, args))
            continue
        try:
            server = pg_server.start()
        except pg_server.ServerUnavailable as exc:
            raise BenchError(f"no PostgreSQL server for the matching rows: {exc}") from None
        try:
            rows.append(await _match_alone(server.url, backend, keys, args))
        finally:
            server.stop()
    return rows

def _cold() -> None:
    matching._tokens.clear()
    query_of.cache_clear()


async def _match(db: Database, paper_ids: tuple[int, ...]) -> tuple[float, int, int]:
    """The hook's matching step: seconds, topics matched, (user, topic) pairs fanned out."""
    start = time.perf_counter()
    keys = await sub_repo.active_queries(db)
    papers = await sub_repo.read_papers(db, paper_ids)
    found = matching.match(matching.DigestIndex.build(papers), keys)
    subs = await sub_repo.active_subscribers(db, list(found))
    return time.perf_counter() - start, len(found), len(subs)


@dataclass(slots=True)
class _Holds:
    """Times every write transaction of `db` (BEGIN to COMMIT, in order) while installed."""

    db: Database
    seconds: list[float] = field(default_factory=list)
    stop_at: int | None = None  # raise _Stop on entering the transaction with this index

    def __post_init__(self) -> None:
        inner = self.db.transaction

        @asynccontextmanager
        async def timed() -> AsyncIterator[aiosqlite.Connection]:
            if self.stop_at is not None and len(self.seconds) == self.stop_at:
                raise _Stop()
            start = time.perf_counter()
            try:
                async with inner() as conn:
                    yield conn
            finally:
                self.seconds.append(time.perf_counter() - start)

        self.db.transaction = timed  # type: ignore[method-assign]


class _Stop(Exception):
    """A stop between two queueing transactions (what a crash leaves behind)."""


async def _next_day(db: Database, digest_id: int) -> ParsedDigest:
    """The sample digest's papers, exactly as stored, as the next day's digest: a new listing of
    known papers, so loading it writes entries but no paper, and it is news for every subscriber."""
    rows = await db.fetchall("SELECT paper_id FROM digest_entries WHERE digest_id = ? ORDER BY position",
                             (digest_id,))
    stored = {p.id: p for p in await paper_repo.get_papers(db, [int(r[0]) for r in rows])}
    records = [PaperRecord(p.title, p.abstract, p.arxiv_id, p.authors, p.links, p.categories, p.keywords,
                           p.ai_summary, p.published) for p in (stored[int(r[0])] for r in rows)]
    return ParsedDigest("hf-daily", dt.date.fromisoformat(SAMPLE_DATE) + dt.timedelta(days=1), "hf-page", records)


async def _counts(db: Database) -> tuple[int, int]:
    """(notifications, delivery_papers rows) in the log."""
    row = await db.fetchone("SELECT (SELECT COUNT(*) FROM deliveries), (SELECT COUNT(*) FROM delivery_papers)")
    assert row is not None
    return int(row[0]), int(row[1])


async def _forget(db: Database, digest_id: int) -> None:
    """Undo a run: the digest (its entries and any marker go with it) and every notification."""
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM delivery_papers")
        await conn.execute("DELETE FROM deliveries")
        await conn.execute("DELETE FROM digests WHERE id = ?", (digest_id,))


@dataclass(slots=True)
class _Run:
    load_txn: float  # the load's own write transaction
    longest_batch: float  # the longest queueing transaction
    batches: int
    total: float  # load start to last notification queued
    cpu: float
    notifications: int
    rows: int


async def _load_and_queue(db: Database, digest: ParsedDigest) -> _Run:
    """Load `digest` as the app does (marker in the load, queued after the commit), timed; undone after."""
    now = dt.datetime.combine(digest.date, dt.time(8), dt.UTC)
    queue = NotificationQueue(db, clock=lambda: now)
    loader = Loader(db, after_load=[notification_hook(SubscriptionSettings(), clock=lambda: now)],
                    after_commit=[queue.after_commit])
    holds = _Holds(db)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        [result] = await loader.load_many([digest])
        total, used = time.perf_counter() - start, time.process_time() - cpu
    finally:
        del db.transaction  # the method again
    assert not await match_repo.pending(db), "matching left its marker"
    notifications, rows = await _counts(db)
    await _forget(db, result.digest_id)
    return _Run(holds.seconds[0], max(holds.seconds[1:], default=0.0), len(holds.seconds) - 1, total, used,
                notifications, rows)


async def _stopped_and_resumed(db: Database, digest: ParsedDigest, after_batches: int) -> tuple[int, int]:
    """Load `digest`, stop queueing after `after_batches` batches committed, resume (as start-up
    does); the (notifications, rows) queued in all. Undone after."""
    now = dt.datetime.combine(digest.date, dt.time(8), dt.UTC)
    queue = NotificationQueue(db, clock=lambda: now)
    loader = Loader(db, after_load=[notification_hook(SubscriptionSettings(), clock=lambda: now)])
    result = await loader.load(digest)  # no listener: the marker waits, as after a crash
    [pending] = await match_repo.pending(db)
    _Holds(db, stop_at=after_batches)
    try:
        await queue.queue(pending)
        raise AssertionError("the stop did not happen: fewer batches than expected")
    except _Stop:
        pass
    finally:
        del db.transaction
    await NotificationQueue(db, clock=lambda: now).drain()  # a restarted process
    counts = await _counts(db)
    await _forget(db, result.digest_id)
    return counts


async def _one_transaction(db: Database, digest_id: int,
                           paper_ids: tuple[int, ...]) -> tuple[float, float, tuple[int, int]]:
    """Before the marker: matching plus queueing every notification inside one write transaction,
    then rolled back: (seconds held, CPU seconds, (notifications, rows))."""
    start, cpu = time.perf_counter(), time.process_time()
    try:
        async with db.atomic() as tx:
            fanout = await fan_out(tx, digest_id, paper_ids)
            users = sorted(fanout.found)
            done = await notification_repo.already_notified(tx, paper_ids)
            prefs = await sub_repo.prefs_of(tx, users)
            await notification_repo.queue(tx, digest_id, fanout.notifications(users, done, prefs))
            raise _Rollback(time.perf_counter() - start, time.process_time() - cpu, await _counts(db))
    except _Rollback as done_:
        return done_.seconds, done_.cpu, done_.counts
    raise AssertionError("unreachable")


class _Rollback(Exception):
    def __init__(self, seconds: float, cpu: float, counts: tuple[int, int]) -> None:
        super().__init__()
        self.seconds, self.cpu, self.counts = seconds, cpu, counts


async def _measure(path: Path, args: argparse.Namespace, size: int) -> list[Row]:
    rng = random.Random(args.seed)
    rows: list[Row] = []
    machine = Machine()
    db = await open_database(path)
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
        digest = await _next_day(db, digest_id)
        before: list[tuple[float, float, tuple[int, int]]] = []
        after: list[_Run] = []
        for _ in range(args.repeat):  # alternating, so both see the same machine
            before.append(await _one_transaction(db, digest_id, ids))
            after.append(await _load_and_queue(db, digest))
        queued, written = after[0].notifications, after[0].rows
        same = all((r.notifications, r.rows) == b[2] == (queued, written) for r, b in zip(after, before, strict=True))
        stop_after = after[0].batches // 2
        resumed = await _stopped_and_resumed(db, digest, stop_after) == (queued, written)
        total = statistics.median(r.total for r in after)
        longest = max(max(r.load_txn, r.longest_batch) for r in after)

        sample = rng.sample(keys, min(args.baseline_sample, len(keys)))
        start = time.perf_counter()
        agree = 0
        index = matching.DigestIndex.build(await sub_repo.read_papers(db, ids))
        for key in sample:  # distinct topics
            theirs = await matching_ids(db, query_of(key), ids)
            agree += theirs == set(matching.match_one(index, key))
        per_query = (time.perf_counter() - start) / len(sample)
        baseline = per_query * len(keys)  # matching is per distinct topic, and so is the baseline
        rows.append(Row(NAME, case, {
            "match cold s": cold, "warm_up s": warm_up_s, "match warm s": spread(warm_runs),
            "load's write txn s": spread([r.load_txn for r in after]),
            "longest queueing txn s": spread([r.longest_batch for r in after]),
            "queueing txns": after[0].batches,
            "total to queue s": spread([r.total for r in after]), "total CPU s": spread([r.cpu for r in after]),
            "before: one txn s": spread([b[0] for b in before]),
            "before: one txn CPU s": spread([b[1] for b in before]),
            "topics matched": matched, "subscriptions hit": fanned, "notifications": queued,
            "rows queued": written, "same as one txn": same,
            f"stopped after {stop_after} txns, resumed: same": resumed,
            "heap peak MB": peak / 1e6, "max RSS MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "baseline s (per topic, scaled)": baseline, "baseline/match cold": baseline / cold,
            "baseline/match warm": baseline / warm, "baseline/total to queue": baseline / total,
            f"FTS5 agrees ({len(sample)})": f"{agree}/{len(sample)}",
            f"warm <= {TARGET_SECONDS:.0f} s": warm <= TARGET_SECONDS,
            f"every txn <= {TARGET_TXN_SECONDS:.0f} s": longest <= TARGET_TXN_SECONDS,
            **machine.values(),
        }))

        # Growth: warm matching time by distinct topics (all papers) and by papers (all topics).
        extra = tuple(int(r[0]) for r in await db.fetchall(
            "SELECT id FROM papers WHERE id NOT IN (SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT 432",
            (f"[{','.join(map(str, ids))}]",)))
        papers_all = await sub_repo.read_papers(db, ids + extra)
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
    if args.backends:
        rows += asyncio.run(_match_on_backends(args))
    if args.match_only:
        return rows
    for size in args.sizes:
        copy = OUT / f"subscriptions-{size}-s{args.seed}.db"  # ours to write: subscriptions are added to it
        if not copy.exists():
            shutil.copyfile(ensure_database(size, args.seed), copy.with_suffix(".tmp"))
            copy.with_suffix(".tmp").replace(copy)
        rows += asyncio.run(_measure(copy, args, size))
    return rows
