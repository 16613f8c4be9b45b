"""storage/notifications.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence

from storage import notifications
from storage.db import iso, now_utc, parse_iso
from storage.notifications import Notification, NotificationRecord, QueuedPaper, json_texts
from storage.sqlite.db import SqliteDatabase

# The space of the notifications' holds (storage/sqlite/holds.py): "noti".
_HOLDS = 0x6E6F7469

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


@notifications.already_notified.register(SqliteDatabase)
async def already_notified(db: SqliteDatabase, paper_ids: Sequence[int],
                           users: Sequence[str] | None = None) -> set[tuple[str, int]]:
    if users is None:
        sql = ("SELECT p.user_id, p.paper_id FROM json_each(:papers) AS k"
               " JOIN delivery_papers AS p ON p.paper_id = k.value")
    else:
        # CROSS JOIN keeps this order: each user's own rows by the key's prefix. Left to itself the
        # planner walks every row of the papers and scans the users' JSON for each.
        sql = ("SELECT p.user_id, p.paper_id FROM json_each(:users) AS u CROSS JOIN delivery_papers AS p"
               " ON p.user_id = u.value WHERE p.paper_id IN (SELECT value FROM json_each(:papers))")
    params = {"papers": json.dumps(list(paper_ids)), "users": json.dumps(list(users or ()))}
    return {(r[0], int(r[1])) for r in await db.fetchall(sql, params)}


@notifications.queue.register(SqliteDatabase)
async def queue(db: SqliteDatabase, digest_id: int, queued: Sequence[Notification], *,
                now: dt.datetime | None = None) -> list[int]:
    if not queued:
        return []
    stamp = iso(now or now_utc())
    async with db.transaction() as conn:
        # Ids from MAX(id), inside the write transaction: the rows go in with two executemany
        # calls, not one round trip per user.
        async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM deliveries") as cursor:
            row = await cursor.fetchone()
        first = (int(row[0]) if row else 0) + 1
        ids = list(range(first, first + len(queued)))
        await conn.executemany(
            "INSERT INTO deliveries (id, user_id, digest_id, kind, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            [(i, n.user_id, digest_id, n.kind, stamp, stamp) for i, n in zip(ids, queued, strict=True)],
        )
        dumped = json_texts()
        await conn.executemany(
            "INSERT OR IGNORE INTO delivery_papers (user_id, paper_id, delivery_id, position, topics, terms, title)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(n.user_id, p.paper_id, i, pos, dumped(p.topics), dumped(p.terms), p.title)
             for i, n in zip(ids, queued, strict=True) for pos, p in enumerate(n.papers)],
        )
    return ids


async def _papers_of(db: SqliteDatabase, ids: Sequence[int]) -> dict[int, tuple[QueuedPaper, ...]]:
    found: dict[int, list[QueuedPaper]] = {i: [] for i in ids}
    for r in await db.fetchall(
        "SELECT p.* FROM json_each(?) AS k JOIN delivery_papers AS p ON p.delivery_id = k.value"
        " ORDER BY p.delivery_id, p.position",
        (json.dumps(list(ids)),),
    ):
        found[r["delivery_id"]].append(_paper(r))
    return {i: tuple(ps) for i, ps in found.items()}


async def _with_papers(db: SqliteDatabase, rows: list[sqlite3.Row]) -> list[NotificationRecord]:
    papers = await _papers_of(db, [r["id"] for r in rows])
    return [_record(r, papers[r["id"]]) for r in rows]


@notifications.get_notification.register(SqliteDatabase)
async def get_notification(db: SqliteDatabase, notification_id: int) -> NotificationRecord | None:
    row = await db.fetchone(f"{_SELECT} WHERE n.id = ?", (notification_id,))
    return (await _with_papers(db, [row]))[0] if row else None


@notifications.notifications_in_status.register(SqliteDatabase)
async def notifications_in_status(db: SqliteDatabase, statuses: Sequence[str]) -> list[NotificationRecord]:
    rows = await db.fetchall(
        f"{_SELECT} WHERE n.status IN (SELECT value FROM json_each(?)) ORDER BY n.id",  # noqa: S608
        (json.dumps(list(statuses)),),
    )
    return await _with_papers(db, rows)


@notifications.count_by_status.register(SqliteDatabase)
async def count_by_status(db: SqliteDatabase) -> dict[str, int]:
    rows = await db.fetchall("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
    return {str(r["status"]): int(r["n"]) for r in rows}


@notifications.list_notifications.register(SqliteDatabase)
async def list_notifications(db: SqliteDatabase, *, digest_date: dt.date | None = None, status: str | None = None,
                             user_id: str | None = None, digest_id: int | None = None,
                             limit: int | None = None) -> list[NotificationRecord]:
    day = digest_date.isoformat() if digest_date else None
    rows = await db.fetchall(
        f"{_SELECT} WHERE (:day IS NULL OR d.date = :day) AND (:status IS NULL OR n.status = :status)"  # noqa: S608
        " AND (:user IS NULL OR n.user_id = :user) AND (:digest IS NULL OR n.digest_id = :digest)"
        " ORDER BY n.id DESC LIMIT :limit",
        {"day": day, "status": status, "user": user_id, "digest": digest_id, "limit": -1 if limit is None else limit},
    )
    return await _with_papers(db, rows)


@notifications.notification_of.register(SqliteDatabase)
async def notification_of(db: SqliteDatabase, user_id: str,
                          paper_id: int) -> tuple[NotificationRecord, QueuedPaper, int] | None:
    row = await db.fetchone("SELECT * FROM delivery_papers WHERE user_id = ? AND paper_id = ?", (user_id, paper_id))
    if row is None:
        return None
    record = await get_notification(db, row["delivery_id"])
    return (record, _paper(row), int(row["position"])) if record else None


@notifications.hold_notifications.register(SqliteDatabase)
async def hold_notifications(db: SqliteDatabase, notification_ids: Sequence[int]) -> set[int]:
    return db.holds.take(_HOLDS, notification_ids)


@notifications.release_notifications.register(SqliteDatabase)
async def release_notifications(db: SqliteDatabase, notification_ids: Sequence[int]) -> None:
    db.holds.release(_HOLDS, notification_ids)
