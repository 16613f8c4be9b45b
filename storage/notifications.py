"""The notification log: topic notifications, queued with the digest that caused them, then sent.

Exactly once, by construction:
* a digest that is news is stored with a pending_matches row (storage.pending_matches) in its
  load transaction; its notifications are queued after the commit, a batch of users per
  transaction, and a row a crash left is resumed, so a digest never loses its notifications;
* delivery_papers' primary key (user, paper) means a user is told about a paper once, whatever
  digest, corrected copy or re-run batch lists it again (`already_notified`, read inside the
  queueing transaction, filters before queueing);
* the sender moves a row pending → sending (compare-and-set) before the request and to sent or
  failed after, as the post log does (storage.posts); a crash leaves 'sending', which recovery
  resolves without sending blindly twice.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from storage.db import Database, iso, now_utc, parse_iso
from storage.sendlog import GroupWriter, Starter, update_row

STATUSES = ("pending", "sending", "sent", "failed", "unknown")
KINDS = ("direct", "channel")
_UPDATABLE = ("status", "kind", "reason", "attempts", "next_attempt_at", "channel_id", "message_id", "error")


@dataclass(slots=True, frozen=True)
class QueuedPaper:
    """A paper in a notification: the topics (canonical queries) and terms that matched it."""

    paper_id: int
    title: str
    topics: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class Notification:
    """What `queue` writes: one user's papers from one digest, in digest order."""

    user_id: str
    kind: str  # one of KINDS: the user's preferred way
    papers: tuple[QueuedPaper, ...]


@dataclass(slots=True, frozen=True)
class NotificationRecord:
    id: int
    user_id: str
    digest_id: int | None
    kind: str
    status: str
    reason: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    channel_id: str | None
    message_id: str | None
    error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    digest_source: str | None = None
    digest_date: dt.date | None = None
    papers: tuple[QueuedPaper, ...] = field(default=())


_SELECT = (
    "SELECT n.*, d.source AS digest_source, d.date AS digest_date"
    " FROM deliveries AS n LEFT JOIN digests AS d ON d.id = n.digest_id"
)


def _record(row: sqlite3.Row, papers: tuple[QueuedPaper, ...] = ()) -> NotificationRecord:
    return NotificationRecord(
        id=row["id"], user_id=row["user_id"], digest_id=row["digest_id"], kind=row["kind"], status=row["status"],
        reason=row["reason"], attempts=row["attempts"],
        next_attempt_at=parse_iso(row["next_attempt_at"]) if row["next_attempt_at"] else None,
        channel_id=row["channel_id"], message_id=row["message_id"], error=row["error"],
        created_at=parse_iso(row["created_at"]), updated_at=parse_iso(row["updated_at"]),
        digest_source=row["digest_source"],
        digest_date=dt.date.fromisoformat(row["digest_date"]) if row["digest_date"] else None,
        papers=papers,
    )


def _paper(row: sqlite3.Row) -> QueuedPaper:
    return QueuedPaper(row["paper_id"], row["title"], tuple(json.loads(row["topics"])), tuple(json.loads(row["terms"])))


# -- queueing, in a write transaction ---------------------------------------------------------------

async def already_notified(conn: aiosqlite.Connection, paper_ids: Sequence[int],
                           users: Sequence[str] | None = None) -> set[tuple[str, int]]:
    """(user, paper) pairs already in the log for any of `paper_ids`, whatever their status; with
    `users`, only theirs (a batch looks up its own users by the table's key, not every pair)."""
    if users is None:
        sql = ("SELECT p.user_id, p.paper_id FROM json_each(:papers) AS k"
               " JOIN delivery_papers AS p ON p.paper_id = k.value")
    else:
        # CROSS JOIN keeps this order: each user's own rows by the key's prefix. Left to itself the
        # planner walks every row of the papers and scans the users' JSON for each.
        sql = ("SELECT p.user_id, p.paper_id FROM json_each(:users) AS u CROSS JOIN delivery_papers AS p"
               " ON p.user_id = u.value WHERE p.paper_id IN (SELECT value FROM json_each(:papers))")
    params = {"papers": json.dumps(list(paper_ids)), "users": json.dumps(list(users or ()))}
    async with conn.execute(sql, params) as cursor:
        return {(r[0], int(r[1])) for r in await cursor.fetchall()}


async def queue(conn: aiosqlite.Connection, digest_id: int, notifications: Sequence[Notification], *,
                now: dt.datetime | None = None) -> list[int]:
    """Write one pending notification per notification with its papers; returns their ids.

    Must run inside a write transaction (a queueing batch's): ids are assigned from MAX(id) so the
    rows go in with two executemany calls, not one round trip per user.
    """
    if not notifications:
        return []
    stamp = iso(now or now_utc())
    async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM deliveries") as cursor:
        row = await cursor.fetchone()
    first = (int(row[0]) if row else 0) + 1
    ids = list(range(first, first + len(notifications)))
    await conn.executemany(
        "INSERT INTO deliveries (id, user_id, digest_id, kind, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        [(i, n.user_id, digest_id, n.kind, stamp, stamp) for i, n in zip(ids, notifications, strict=True)],
    )
    # A popular digest queues hundreds of thousands of (user, paper) rows, but few distinct lists
    # of topics and terms: each is written out once.
    as_json: dict[tuple[str, ...], str] = {}

    def dumped(values: tuple[str, ...]) -> str:
        text = as_json.get(values)
        if text is None:
            text = as_json[values] = json.dumps(values, ensure_ascii=False)
        return text

    await conn.executemany(
        "INSERT OR IGNORE INTO delivery_papers (user_id, paper_id, delivery_id, position, topics, terms, title)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(n.user_id, p.paper_id, i, pos, dumped(p.topics), dumped(p.terms), p.title)
         for i, n in zip(ids, notifications, strict=True) for pos, p in enumerate(n.papers)],
    )
    return ids


# -- the sender's side ----------------------------------------------------------------------------

async def update_notification(db: Database, delivery_id: int, *, expect: str | Sequence[str] | None = None,
                          now: dt.datetime | None = None, **values: Any) -> bool:
    """Set some columns; with `expect`, only while the status is one of those (compare-and-set)."""
    return await update_row(db, "deliveries", _UPDATABLE, delivery_id, expect=expect, now=now, **values)


def notification_writer(db: Database, *, linger: float = 0.0) -> GroupWriter:
    """`update_notification` for concurrent senders, sharing transactions (see storage.sendlog.GroupWriter)."""
    return GroupWriter(db, "deliveries", _UPDATABLE, linger=linger)


def notification_starter(db: Database, *, ahead: int) -> Starter:
    """'sending' for planned notifications, `ahead` at a time (see storage.sendlog.Starter)."""
    return Starter(db, "deliveries", _UPDATABLE, ahead=ahead)


async def _papers_of(db: Database, ids: Sequence[int]) -> dict[int, tuple[QueuedPaper, ...]]:
    found: dict[int, list[QueuedPaper]] = {i: [] for i in ids}
    for r in await db.fetchall(
        "SELECT p.* FROM json_each(?) AS k JOIN delivery_papers AS p ON p.delivery_id = k.value"
        " ORDER BY p.delivery_id, p.position",
        (json.dumps(list(ids)),),
    ):
        found[r["delivery_id"]].append(_paper(r))
    return {i: tuple(ps) for i, ps in found.items()}


async def _with_papers(db: Database, rows: list[sqlite3.Row]) -> list[NotificationRecord]:
    papers = await _papers_of(db, [r["id"] for r in rows])
    return [_record(r, papers[r["id"]]) for r in rows]


async def get_notification(db: Database, delivery_id: int) -> NotificationRecord | None:
    row = await db.fetchone(f"{_SELECT} WHERE n.id = ?", (delivery_id,))
    return (await _with_papers(db, [row]))[0] if row else None


async def notifications_in_status(db: Database, statuses: Sequence[str]) -> list[NotificationRecord]:
    """Rows in these statuses, oldest first, with their papers."""
    rows = await db.fetchall(
        f"{_SELECT} WHERE n.status IN (SELECT value FROM json_each(?)) ORDER BY n.id",  # noqa: S608
        (json.dumps(list(statuses)),),
    )
    return await _with_papers(db, rows)


async def list_notifications(db: Database, *, digest_date: dt.date | None = None, status: str | None = None,
                          user_id: str | None = None, digest_id: int | None = None,
                          limit: int | None = None) -> list[NotificationRecord]:
    """The log, newest first, with each notification's papers."""
    day = digest_date.isoformat() if digest_date else None
    rows = await db.fetchall(
        f"{_SELECT} WHERE (:day IS NULL OR d.date = :day) AND (:status IS NULL OR n.status = :status)"  # noqa: S608
        " AND (:user IS NULL OR n.user_id = :user) AND (:digest IS NULL OR n.digest_id = :digest)"
        " ORDER BY n.id DESC LIMIT :limit",
        {"day": day, "status": status, "user": user_id, "digest": digest_id, "limit": -1 if limit is None else limit},
    )
    return await _with_papers(db, rows)


async def notification_of(db: Database, user_id: str,
                          paper_id: int) -> tuple[NotificationRecord, QueuedPaper, int] | None:
    """The notification that told `user_id` about `paper_id`, the paper's entry in it and its
    position there (for "was it beyond the cap?"); None when the user was never notified of it."""
    row = await db.fetchone("SELECT * FROM delivery_papers WHERE user_id = ? AND paper_id = ?", (user_id, paper_id))
    if row is None:
        return None
    record = await get_notification(db, row["delivery_id"])
    return (record, _paper(row), int(row["position"])) if record else None
