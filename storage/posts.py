"""The post log: one row per server and local day, so the daily post goes out exactly once.

A row is inserted (claimed) before anything is sent; the UNIQUE (guild_id, post_date) key means
a second claim for the same day — another task, another process, a restart — finds it taken.
Status flow: pending → sending → sent; sending → pending (retry, with next_attempt_at) or failed;
a crash leaves 'sending', which recovery turns into a keyed re-send or 'unknown'. A process holds
the rows it sends (`hold_posts`) until it is done with them; when it dies, its holds end with it,
and the next process to look (another one, or itself restarted) recovers what it left.
'skipped' rows say why a day had no post.
The SQL: storage/sqlite/posts.py, storage/postgres/posts.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Database
from storage.dispatch import per_backend
from storage.sendlog import GroupWriter, RowUpdate, Starter, update_row, update_rows

STATUSES = ("pending", "sending", "sent", "failed", "skipped", "unknown")
KINDS = ("digest", "note", "none")  # the day's digest, the "no digest today" note, nothing to post


@dataclass(slots=True, frozen=True)
class PostRecord:
    id: int
    guild_id: str
    channel_id: str
    post_date: dt.date
    digest_id: int | None
    kind: str
    status: str
    reason: str | None
    key: str
    attempts: int
    next_attempt_at: dt.datetime | None
    message_id: str | None
    thread_id: str | None
    pages_sent: int
    error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    digest_source: str | None = None  # of the digest it carries, for listings
    digest_date: dt.date | None = None


# Columns `update_post` may set: a fixed list, so the names put into its SQL are never user text.
_UPDATABLE = ("status", "reason", "attempts", "next_attempt_at", "message_id", "thread_id", "pages_sent", "error")


@per_backend
async def claim(db: Database, *, guild_id: str, channel_id: str, post_date: dt.date, kind: str,
                key: str, digest_id: int | None = None, status: str = "pending", reason: str | None = None,
                now: dt.datetime | None = None) -> PostRecord | None:
    """Insert the day's row; None when the server's day is already in the log (nothing written)."""
    raise NotImplementedError


@dataclass(slots=True, frozen=True)
class Claim:
    """A day to put in the log (see `claim`)."""

    guild_id: str
    channel_id: str
    post_date: dt.date
    kind: str
    key: str
    digest_id: int | None = None
    status: str = "pending"
    reason: str | None = None


@per_backend
async def claim_many(db: Database, claims: Sequence[Claim], *, now: dt.datetime | None = None,
                     ) -> list[PostRecord | None]:
    """`claim` for many days in one transaction and one statement: the new rows, in order, None
    for each day already in the log (or whose key is)."""
    raise NotImplementedError


async def update_post(db: Database, post_id: int, *, expect: str | Sequence[str] | None = None,
                      now: dt.datetime | None = None, **values: Any) -> bool:
    """Set some of the row's columns. With `expect`, only while its status is one of those (a
    compare-and-set: two tasks cannot both move a row out of 'pending'). True when it changed."""
    return await update_row(db, "posts", _UPDATABLE, post_id, expect=expect, now=now, **values)


async def update_posts(db: Database, updates: Sequence[RowUpdate], *, now: dt.datetime | None = None) -> set[int]:
    """Many `update_post`s in one transaction; the ids of the rows that changed."""
    return await update_rows(db, "posts", _UPDATABLE, updates, now=now)


@per_backend
async def hold_posts(db: Database, post_ids: Sequence[int]) -> set[int]:
    """Take these posts in hand before sending or recovering them: the ids taken. A post another
    task or process holds is left out: it is working on it. Held until `release_posts`, or until
    the process ends however it ends, so a row a dead process left 'sending' can be told from one
    a live process is sending, and is recovered by whichever process looks next."""
    raise NotImplementedError


@per_backend
async def release_posts(db: Database, post_ids: Sequence[int]) -> None:
    """Let go of posts taken with `hold_posts` (ids not held are ignored)."""
    raise NotImplementedError


def post_writer(db: Database, *, linger: float = 0.0) -> GroupWriter:
    """`update_post` for concurrent senders, sharing transactions (see storage.sendlog.GroupWriter)."""
    return GroupWriter(db, "posts", _UPDATABLE, linger=linger)


def post_starter(db: Database, *, ahead: int) -> Starter:
    """'sending' for planned posts, `ahead` at a time (see storage.sendlog.Starter)."""
    return Starter(db, "posts", _UPDATABLE, ahead=ahead)


@per_backend
async def get_post(db: Database, post_id: int) -> PostRecord | None:
    raise NotImplementedError


@per_backend
async def get_posts(db: Database, post_ids: Sequence[int]) -> list[PostRecord]:
    """These rows (those that exist), in id order."""
    raise NotImplementedError


@per_backend
async def posts_since(db: Database, day: dt.date) -> list[PostRecord]:
    """Every row for local days from `day` on (what the scheduler needs to decide)."""
    raise NotImplementedError


@per_backend
async def posts_in_status(db: Database, statuses: Sequence[str], *,
                          platform: str | None = None) -> list[PostRecord]:
    """Posts in any of `statuses`, optionally only one platform's servers ("console", "discord")."""
    raise NotImplementedError


@per_backend
async def count_by_status(db: Database) -> dict[str, int]:
    """How many posts the log holds in each status (statuses without posts are absent), counted
    by the database: /metrics asks it every scrape, and the log grows by a post a server a day."""
    raise NotImplementedError


@per_backend
async def list_posts(db: Database, *, guild_id: str | None = None, status: str | None = None,
                     limit: int | None = None) -> list[PostRecord]:
    """The log, newest day first."""
    raise NotImplementedError
