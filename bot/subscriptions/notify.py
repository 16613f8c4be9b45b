"""Queueing notifications when a digest loads: the Loader `after_load` hook.

The hook runs inside the digest's own transaction, so the digest and its notifications commit
together or not at all; sending happens later (bot.subscriptions.deliver) from the log. Per digest:
match every distinct active topic once against the batch's papers, fan out to the subscribers,
drop (user, paper) pairs already notified (a re-load or a corrected copy lists them again), and
write one pending notification per user listing their papers in digest order, each with the topics
and terms that matched it.

Not every load is news: bulk archive batches (snapshot, export), unchanged re-loads and digests
dated more than `max_digest_age_days` before today notify nobody.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import aiosqlite

from bot.config import SubscriptionSettings
from bot.subscriptions.matching import DigestIndex, match, prepare
from bot.subscriptions.topics import query_of
from storage import deliveries as delivery_repo
from storage import subscriptions as sub_repo
from storage.db import Database, now_utc
from storage.deliveries import Notification, QueuedPaper
from storage.loader import AfterLoad
from storage.records import LoadResult

log = logging.getLogger(__name__)

# Formats whose batches are pieces of a bulk archive load (ParsedDigest.complete is False), not news.
BULK_FORMATS = frozenset({"arxiv-snapshot", "paperboy-jsonl"})


def is_news(result: LoadResult, today: dt.date, settings: SubscriptionSettings) -> bool:
    """Whether loading `result` should notify anyone."""
    return (not result.unchanged and bool(result.paper_ids) and result.format not in BULK_FORMATS
            and (today - result.date).days <= settings.max_digest_age_days)


async def queue_for_digest(conn: aiosqlite.Connection, digest_id: int, paper_ids: tuple[int, ...], *,
                           now: dt.datetime | None = None) -> list[int]:
    """Match, fan out, dedupe and write pending notifications; returns the new deliveries' ids."""
    keys = await sub_repo.active_queries(conn)
    if not keys or not paper_ids:
        return []
    papers = await sub_repo.read_papers(conn, paper_ids, digest_id=digest_id)
    index = DigestIndex.build(papers)
    matches = match(index, keys)
    if not matches:
        return []
    done = await delivery_repo.already_notified(conn, paper_ids)
    hits: dict[str, dict[int, tuple[str, ...]]] = {}  # per topic, shared by its subscribers
    # user -> paper -> (topics, terms), topics in the order the user subscribed to them
    found: dict[str, dict[int, tuple[list[str], list[str]]]] = {}
    for user_id, query in await sub_repo.active_subscribers(conn, list(matches)):
        topic_hits = hits.get(query)
        if topic_hits is None:
            topic_hits = hits[query] = matches[query].hits(index.paper_ids)
        mine = found.get(user_id)
        if mine is None:
            mine = found[user_id] = {}
        for paper_id, terms in topic_hits.items():
            if done and (user_id, paper_id) in done:
                continue
            entry = mine.get(paper_id)
            if entry is None:
                mine[paper_id] = ([query], list(terms))
            else:
                entry[0].append(query)
                entry[1].extend(t for t in terms if t not in entry[1])
    found = {user: mine for user, mine in found.items() if mine}
    if not found:
        return []
    prefs = await sub_repo.prefs_of(conn, found)
    position = {p.id: i for i, p in enumerate(papers)}
    notifications = [
        Notification(user, prefs[user].delivery if user in prefs else "direct", tuple(
            QueuedPaper(pid, papers[position[pid]].title, tuple(found[user][pid][0]), tuple(found[user][pid][1]))
            for pid in sorted(found[user], key=position.__getitem__)))
        for user in sorted(found)
    ]
    ids = await delivery_repo.queue(conn, digest_id, notifications, now=now)
    log.info("digest %s: queued %d notifications (%d topics matched)", digest_id, len(ids), len(matches))
    return ids


async def warm_up(db: Database) -> int:
    """Parse and tokenize every active topic now (at start-up), so the first digest's hook, which
    runs inside the load transaction, finds them cached. Returns the number of topics."""
    keys = await sub_repo.active_queries(db.conn)
    prepare(query_of(k) for k in keys)
    return len(keys)


def notification_hook(settings: SubscriptionSettings, *,
                      clock: Callable[[], dt.datetime] = now_utc) -> AfterLoad:
    """The Loader `after_load` hook that queues notifications with each digest that is news.

    Wake the deliverer after the load has committed, not from here: inside the hook the rows
    are not visible to anyone else yet.
    """

    async def hook(conn: aiosqlite.Connection, result: LoadResult) -> None:
        now = clock()
        if is_news(result, now.date(), settings):
            await queue_for_digest(conn, result.digest_id, result.paper_ids, now=now)

    return hook
