"""The notification log: topic notifications, queued with the digest that caused them, then sent.

Exactly once, by construction:
* a digest that is news is stored with a pending_matches row (storage.pending_matches) in its
  load transaction; its notifications are queued after the commit, a batch of users per
  transaction, and a row a crash left is resumed, so a digest never loses its notifications;
* delivery_papers' primary key (user, paper) means a user is told about a paper once, whatever
  digest, corrected copy or re-run batch lists it again (`already_notified`, read inside the
  queueing transaction, filters before queueing);
* the sender moves a row pending → sending (compare-and-set; on PostgreSQL the claim skips rows
  another process is claiming, FOR UPDATE SKIP LOCKED, so several processes draining the log
  never both take one) before the request and to sent or failed after, as the post log does
  (storage.posts); a crash leaves 'sending', which recovery resolves without sending blindly twice;
* a sender holds the rows it sends (`hold_notifications`, as `storage.posts.hold_posts` holds
  posts) until their outcome is written, so recovery settles only the 'sending' rows of a process
  that died, never those another live process is sending.

The SQL: storage/sqlite/notifications.py, storage/postgres/notifications.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database
from storage.dispatch import per_backend
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


def json_texts() -> Callable[[tuple[str, ...]], str]:
    """A JSON encoder for lists of topics or terms that writes each distinct list once: a popular
    digest queues hundreds of thousands of (user, paper) rows, but few distinct lists."""
    as_json: dict[tuple[str, ...], str] = {}

    def dumped(values: tuple[str, ...]) -> str:
        text = as_json.get(values)
        if text is None:
            text = as_json[values] = json.dumps(values, ensure_ascii=False)
        return text

    return dumped


# -- queueing, in a write transaction ---------------------------------------------------------------

@per_backend
async def already_notified(db: Database, paper_ids: Sequence[int],
                           users: Sequence[str] | None = None) -> set[tuple[str, int]]:
    """(user, paper) pairs already in the log for any of `paper_ids`, whatever their status; with
    `users`, only theirs (a batch looks up its own users by the table's key, not every pair).

    A queueing batch calls it first, inside its transaction (the database `db.atomic()` yields), so
    that what it reads still holds when it writes: SQLite has one writer at a time, and on
    PostgreSQL it first takes the queueing lock (held to the end of the transaction), so two
    processes queueing the same digest take turns and the second sees what the first committed."""
    raise NotImplementedError


@per_backend
async def queue(db: Database, digest_id: int, notifications: Sequence[Notification], *,
                now: dt.datetime | None = None) -> list[int]:
    """Write one pending notification per entry with its papers, in one transaction (a savepoint
    of the caller's); returns their ids, ascending in the order given. A (user, paper) pair already
    in the log is not written again."""
    raise NotImplementedError


# -- the sender's side ----------------------------------------------------------------------------

@per_backend
async def hold_notifications(db: Database, notification_ids: Sequence[int]) -> set[int]:
    """Take these notifications in hand before sending or recovering them: the ids taken. One
    another task or process holds is left out. Held until `release_notifications`, or until the
    process ends however it ends (see storage.posts.hold_posts)."""
    raise NotImplementedError


@per_backend
async def release_notifications(db: Database, notification_ids: Sequence[int]) -> None:
    """Let go of notifications taken with `hold_notifications` (ids not held are ignored)."""
    raise NotImplementedError


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


@per_backend
async def get_notification(db: Database, notification_id: int) -> NotificationRecord | None:
    """One notification with its papers; None when there is no such id."""
    raise NotImplementedError


@per_backend
async def notifications_in_status(db: Database, statuses: Sequence[str]) -> list[NotificationRecord]:
    """Rows in these statuses, oldest first, with their papers."""
    raise NotImplementedError


@per_backend
async def count_by_status(db: Database) -> dict[str, int]:
    """How many notifications the delivery log holds in each status (absent: none), counted by the
    database rather than by loading the rows (/metrics asks every scrape)."""
    raise NotImplementedError


@per_backend
async def list_notifications(db: Database, *, digest_date: dt.date | None = None, status: str | None = None,
                             user_id: str | None = None, digest_id: int | None = None,
                             limit: int | None = None) -> list[NotificationRecord]:
    """The log, newest first, with each notification's papers."""
    raise NotImplementedError


@per_backend
async def notification_of(db: Database, user_id: str,
                          paper_id: int) -> tuple[NotificationRecord, QueuedPaper, int] | None:
    """The notification that told `user_id` about `paper_id`, the paper's entry in it and its
    position there (for "was it beyond the cap?"); None when the user was never notified of it."""
    raise NotImplementedError
