"""Queueing notifications when a digest loads: a marker in the load, matching after its commit.

The load's transaction only records that the digest awaits matching (`notification_hook`, the
Loader `after_load` hook, writes a pending_matches row: storage.pending_matches), so the digest
cannot commit without it, and the write lock is not held while thousands of notifications are
built and written. Once the load has committed, `NotificationQueue` does the work (the Loader
`after_commit` listener; the bot also at start-up and on every sending round, which resumes a
row that a crash left):

per digest, match every distinct active topic once against the papers and fan out to the
subscribers; then, a batch of users at a time (in user id order, about `BATCH_ROWS` (user,
paper) rows each), in one short transaction: drop the (user, paper) pairs already notified (a
re-load or a corrected copy lists them again, or this very batch committed before a crash),
write one pending notification per user listing their papers in digest order, each with the
topics and terms that matched it, and move the marker past the batch (the last batch deletes
it). Sending happens later, from the log (bot.subscriptions.send).

Not every load is news: bulk archive batches (snapshot, export), unchanged re-loads and digests
dated more than `max_digest_age_days` before today notify nobody (and write no marker).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from bot.config import SubscriptionSettings
from bot.subscriptions.matching import DigestIndex, match, prepare
from bot.subscriptions.topics import query_of
from storage import notifications as notification_repo
from storage import pending_matches as match_repo
from storage import subscriptions as sub_repo
from storage.db import Database, now_utc
from storage.errors import ConnectionLost
from storage.loader import AfterLoad
from storage.notifications import Notification, QueuedPaper
from storage.pending_matches import PendingMatch
from storage.records import LoadResult
from storage.subscriptions import PaperText, UserPrefs

log = logging.getLogger(__name__)

# Formats whose batches are pieces of a bulk archive load (ParsedDigest.complete is False), not news.
BULK_FORMATS = frozenset({"arxiv-snapshot", "paperboy-jsonl"})
# (user, paper) rows one queueing transaction writes, about (a user's papers are never split):
# small enough that other writers wait little for each, large enough that a popular digest takes
# a few dozen transactions, not thousands.
BATCH_ROWS = 20_000


def is_news(result: LoadResult, today: dt.date, settings: SubscriptionSettings) -> bool:
    """Whether loading `result` should notify anyone."""
    return (not result.unchanged and bool(result.paper_ids) and result.format not in BULK_FORMATS
            and (today - result.date).days <= settings.max_digest_age_days)


# user -> paper -> (topics, terms), topics in the order the user subscribed to them
Found = dict[str, dict[int, tuple[list[str], list[str]]]]


@dataclass(slots=True)
class Fanout:
    """One digest's matches: its papers in digest order, and per user the papers their topics matched."""

    papers: list[PaperText] = field(default_factory=list)
    found: Found = field(default_factory=dict)
    topics: int = 0  # distinct topics that matched

    def batches(self, after: str | None, rows: int) -> Iterator[list[str]]:
        """The users after `after` in user id order, cut into batches of about `rows` papers."""
        batch: list[str] = []
        size = 0
        for user in sorted(self.found):
            if after is not None and user <= after:
                continue
            batch.append(user)
            size += len(self.found[user])
            if size >= rows:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def notifications(self, users: Sequence[str], done: set[tuple[str, int]],
                      prefs: dict[str, UserPrefs]) -> list[Notification]:
        """One notification per user with a paper not in `done` (already notified), in digest order."""
        position = {p.id: i for i, p in enumerate(self.papers)}
        out = []
        for user in users:
            mine = sorted((pid for pid in self.found[user] if (user, pid) not in done), key=position.__getitem__)
            if mine:
                out.append(Notification(user, prefs[user].delivery if user in prefs else "direct", tuple(
                    QueuedPaper(pid, self.papers[position[pid]].title, tuple(self.found[user][pid][0]),
                                tuple(self.found[user][pid][1])) for pid in mine)))
        return out


async def fan_out(db: Database, digest_id: int, paper_ids: Sequence[int]) -> Fanout:
    """Match a digest's papers against every active topic and fan out to the subscribers. Reads
    only, so it needs no write transaction (the queue runs it before its batches')."""
    keys = await sub_repo.active_queries(db)
    if not keys or not paper_ids:
        return Fanout()
    papers = await sub_repo.read_papers(db, paper_ids, digest_id=digest_id)
    index = DigestIndex.build(papers)
    matches = match(index, keys)
    if not matches:
        return Fanout(papers)
    hits: dict[str, dict[int, tuple[str, ...]]] = {}  # per topic, shared by its subscribers
    found: Found = {}
    for user_id, query in await sub_repo.active_subscribers(db, list(matches)):
        topic_hits = hits.get(query)
        if topic_hits is None:
            topic_hits = hits[query] = matches[query].hits(index.paper_ids)
        mine = found.get(user_id)
        if mine is None:
            mine = found[user_id] = {}
        for paper_id, terms in topic_hits.items():
            entry = mine.get(paper_id)
            if entry is None:
                mine[paper_id] = ([query], list(terms))
            else:
                entry[0].append(query)
                entry[1].extend(t for t in terms if t not in entry[1])
    return Fanout(papers, {user: mine for user, mine in found.items() if mine}, len(matches))


class NotificationQueue:
    """Queues the notifications of digests whose load committed with a pending_matches row.

    `drain` takes every such row, oldest first, resuming a row a crash left after its last
    queued batch. One process drains one row at a time; two processes (the bot and `paperboy
    ingest`) draining the same row queue nothing twice, as the (user, paper) pairs are checked
    inside each batch's transaction.
    """

    def __init__(self, db: Database, *, clock: Callable[[], dt.datetime] = now_utc,
                 batch_rows: int | None = None) -> None:
        self.db = db
        self.clock = clock
        self.batch_rows = batch_rows
        self._lock = asyncio.Lock()

    async def after_commit(self, results: Sequence[LoadResult]) -> None:
        """A Loader `after_commit` listener: queue what the load (or an earlier one) left to match."""
        await self.drain()

    async def drain(self) -> list[int]:
        """Queue every pending digest's notifications; returns the new notifications' ids. A digest
        that fails is logged and left for the next call, and the others still go ahead."""
        ids: list[int] = []
        async with self._lock:
            for pending in await match_repo.pending(self.db):
                try:
                    ids += await self.queue(pending)
                except ConnectionLost as exc:  # the server restarting: the rest wait for the next round too
                    log.warning("queueing notifications paused at digest %s: %s", pending.digest_id, exc)
                    break
                except Exception:  # noqa: BLE001 - its marker stays: the next round resumes it
                    log.exception("digest %s: queueing notifications failed; trying again later", pending.digest_id)
        return ids

    async def queue(self, pending: PendingMatch) -> list[int]:
        """Match one pending digest and queue its notifications, batch by batch."""
        fanout = await fan_out(self.db, pending.digest_id, pending.paper_ids)
        rows = self.batch_rows or BATCH_ROWS  # read here: a test may lower the module's value
        batches = list(fanout.batches(pending.done_through, rows)) or [[]]  # none: the marker still goes
        ids: list[int] = []
        for i, users in enumerate(batches):
            async with self.db.atomic() as batch:
                done = await notification_repo.already_notified(batch, pending.paper_ids, users)
                prefs = await sub_repo.prefs_of(batch, users)
                ids += await notification_repo.queue(batch, pending.digest_id,
                                                     fanout.notifications(users, done, prefs), now=self.clock())
                if i == len(batches) - 1:
                    await match_repo.finish(batch, pending.id)
                else:
                    await match_repo.advance(batch, pending.id, users[-1])
        log.info("digest %s: queued %d notifications in %d transactions (%d topics matched)",
                 pending.digest_id, len(ids), len(batches), fanout.topics)
        return ids


async def warm_up(db: Database) -> int:
    """Parse and tokenize every active topic now (at start-up), so the first digest's matching
    finds them cached. Returns the number of topics."""
    keys = await sub_repo.active_queries(db)
    prepare(query_of(k) for k in keys)
    return len(keys)


def notification_hook(settings: SubscriptionSettings, *,
                      clock: Callable[[], dt.datetime] = now_utc) -> AfterLoad:
    """The Loader `after_load` hook that marks each digest that is news as awaiting matching,
    in the load's transaction (a NotificationQueue queues its notifications after the commit)."""

    async def hook(tx: Database, result: LoadResult) -> None:
        now = clock()
        if is_news(result, now.date(), settings):
            await match_repo.add(tx, result.digest_id, result.paper_ids, now=now)

    return hook
