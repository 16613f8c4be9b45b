"""storage/notifications.py on PostgreSQL.

Ids come from the table's identity, taken for a whole batch before its rows are written (several
processes queue at once: SQLite's MAX(id) + 1 would collide here). Queueing batches take turns on
an advisory lock held to the end of their transaction, as SQLite's single writer makes them, so a
batch's `already_notified` sees every batch committed before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg

from storage import notifications
from storage.db import now_utc
from storage.notifications import Notification, NotificationRecord, QueuedPaper, json_texts
from storage.postgres.db import PostgresDatabase

# pg_advisory_xact_lock key of queueing batches: "paperboy" and 1 (the migration lock is "paperboy").
_QUEUE_LOCK = 0x7061706572626F79 ^ 1

# The space of the notifications' holds (PostgresDatabase.holds): "noti".
_HOLDS = 0x6E6F7469

_SELECT = (
    "SELECT n.*, d.source AS digest_source, d.date AS digest_date"
    " FROM deliveries AS n LEFT JOIN digests AS d ON d.id = n.digest_id"
)


def _record(row: asyncpg.Record, papers: tuple[QueuedPaper, ...] = ()) -> NotificationRecord:
    return NotificationRecord(
        id=row["id"], user_id=row["user_id"], digest_id=row["digest_id"], kind=row["kind"], status=row["status"],
        reason=row["reason"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
        channel_id=row["channel_id"], message_id=row["message_id"], error=row["error"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        digest_source=row["digest_source"], digest_date=row["digest_date"], papers=papers,
    )


def _paper(row: asyncpg.Record) -> QueuedPaper:
    return QueuedPaper(row["paper_id"], row["title"], tuple(row["topics"]), tuple(row["terms"]))


@notifications.already_notified.register(PostgresDatabase)
async def already_notified(db: PostgresDatabase, paper_ids: Sequence[int],
                           users: Sequence[str] | None = None) -> set[tuple[str, int]]:
    await db.execute("SELECT pg_advisory_xact_lock($1)", (_QUEUE_LOCK,))
    params: tuple[Any, ...] = (list(paper_ids),)
    sql = "SELECT user_id, paper_id FROM delivery_papers WHERE paper_id = ANY($1::bigint[])"
    if users is not None:
        sql += " AND user_id = ANY($2::text[])"
        params += (list(users),)
    return {(r[0], int(r[1])) for r in await db.fetchall(sql, params)}


@notifications.queue.register(PostgresDatabase)
async def queue(db: PostgresDatabase, digest_id: int, queued: Sequence[Notification], *,
                now: dt.datetime | None = None) -> list[int]:
    if not queued:
        return []
    stamp = (now or now_utc()).replace(microsecond=0)
    async with db.transaction() as conn:
        ids = sorted(int(r[0]) for r in await conn.fetch(
            "SELECT nextval(pg_get_serial_sequence('deliveries', 'id')) FROM generate_series(1, $1)", len(queued)))
        await conn.execute(
            "INSERT INTO deliveries (id, user_id, digest_id, kind, status, created_at, updated_at)"
            " SELECT id, user_id, $3, kind, 'pending', $4, $4 FROM unnest($1::bigint[], $2::text[], $5::text[])"
            " AS k (id, user_id, kind)",
            ids, [n.user_id for n in queued], digest_id, stamp, [n.kind for n in queued])
        dumped = json_texts()
        rows = [(n.user_id, p.paper_id, i, pos, dumped(p.topics), dumped(p.terms), p.title)
                for i, n in zip(ids, queued, strict=True) for pos, p in enumerate(n.papers)]
        if rows:
            # One statement, a column per array: a popular digest writes hundreds of thousands of rows.
            await conn.execute(
                "INSERT INTO delivery_papers (user_id, paper_id, delivery_id, position, topics, terms, title)"
                " SELECT user_id, paper_id, delivery_id, position, topics::jsonb, terms::jsonb, title FROM unnest("
                "$1::text[], $2::bigint[], $3::bigint[], $4::integer[], $5::text[], $6::text[], $7::text[])"
                " AS k (user_id, paper_id, delivery_id, position, topics, terms, title) ON CONFLICT DO NOTHING",
                *(list(column) for column in zip(*rows, strict=True)))
    return ids


async def _papers_of(db: PostgresDatabase, ids: Sequence[int]) -> dict[int, tuple[QueuedPaper, ...]]:
    found: dict[int, list[QueuedPaper]] = {i: [] for i in ids}
    for r in await db.fetchall("SELECT * FROM delivery_papers WHERE delivery_id = ANY($1::bigint[])"
                               " ORDER BY delivery_id, position", (list(ids),)):
        found[r["delivery_id"]].append(_paper(r))
    return {i: tuple(ps) for i, ps in found.items()}


async def _with_papers(db: PostgresDatabase, rows: list[asyncpg.Record]) -> list[NotificationRecord]:
    papers = await _papers_of(db, [r["id"] for r in rows])
    return [_record(r, papers[r["id"]]) for r in rows]


@notifications.get_notification.register(PostgresDatabase)
async def get_notification(db: PostgresDatabase, notification_id: int) -> NotificationRecord | None:
    row = await db.fetchone(f"{_SELECT} WHERE n.id = $1", (notification_id,))
    return (await _with_papers(db, [row]))[0] if row else None


@notifications.notifications_in_status.register(PostgresDatabase)
async def notifications_in_status(db: PostgresDatabase, statuses: Sequence[str]) -> list[NotificationRecord]:
    rows = await db.fetchall(f"{_SELECT} WHERE n.status = ANY($1::text[]) ORDER BY n.id", (list(statuses),))
    return await _with_papers(db, rows)


@notifications.count_by_status.register(PostgresDatabase)
async def count_by_status(db: PostgresDatabase) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
    return {str(r["status"]): int(r["n"]) for r in rows}


@notifications.list_notifications.register(PostgresDatabase)
async def list_notifications(db: PostgresDatabase, *, digest_date: dt.date | None = None,
                             status: str | None = None, user_id: str | None = None, digest_id: int | None = None,
                             limit: int | None = None) -> list[NotificationRecord]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE ($1::date IS NULL OR d.date = $1) AND ($2::text IS NULL OR n.status = $2)"  # noqa: S608
        " AND ($3::text IS NULL OR n.user_id = $3) AND ($4::bigint IS NULL OR n.digest_id = $4)"
        " ORDER BY n.id DESC LIMIT $5",
        (digest_date, status, user_id, digest_id, limit),
    )
    return await _with_papers(db, rows)


@notifications.notification_of.register(PostgresDatabase)
async def notification_of(db: PostgresDatabase, user_id: str,
                          paper_id: int) -> tuple[NotificationRecord, QueuedPaper, int] | None:
    row = await db.fetchone("SELECT * FROM delivery_papers WHERE user_id = $1 AND paper_id = $2", (user_id, paper_id))
    if row is None:
        return None
    record = await get_notification(db, row["delivery_id"])
    return (record, _paper(row), int(row["position"])) if record else None


@notifications.hold_notifications.register(PostgresDatabase)
async def hold_notifications(db: PostgresDatabase, notification_ids: Sequence[int]) -> set[int]:
    return await db.holds.take(_HOLDS, notification_ids)


@notifications.release_notifications.register(PostgresDatabase)
async def release_notifications(db: PostgresDatabase, notification_ids: Sequence[int]) -> None:
    await db.holds.release(_HOLDS, notification_ids)
