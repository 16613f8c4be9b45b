"""storage/library.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from storage import library
from storage.library import SavedPaper
from storage.postgres.db import PostgresDatabase
from storage.postgres.votes import move_rows


@library.save.register(PostgresDatabase)
async def save(db: PostgresDatabase, user_id: str, paper_id: int, *, now: dt.datetime) -> bool:
    return await db.execute(
        "INSERT INTO library (user_id, paper_id, saved_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id, paper_id) DO NOTHING", (user_id, paper_id, now)) > 0


@library.remove.register(PostgresDatabase)
async def remove(db: PostgresDatabase, user_id: str, paper_id: int) -> bool:
    return await db.execute("DELETE FROM library WHERE user_id = $1 AND paper_id = $2", (user_id, paper_id)) > 0


@library.is_saved.register(PostgresDatabase)
async def is_saved(db: PostgresDatabase, user_id: str, paper_id: int) -> bool:
    return await db.fetchone("SELECT 1 FROM library WHERE user_id = $1 AND paper_id = $2",
                             (user_id, paper_id)) is not None


@library.size.register(PostgresDatabase)
async def size(db: PostgresDatabase, user_id: str) -> int:
    row = await db.fetchone("SELECT count(*) FROM library WHERE user_id = $1", (user_id,))
    return int(row[0]) if row else 0


@library.saved.register(PostgresDatabase)
async def saved(db: PostgresDatabase, user_id: str, *, limit: int | None = None, offset: int = 0) -> list[SavedPaper]:
    rows = await db.fetchall(
        "SELECT paper_id, saved_at FROM library WHERE user_id = $1 ORDER BY saved_at DESC, paper_id DESC"
        " LIMIT $2 OFFSET $3", (user_id, limit, offset))
    return [SavedPaper(int(r[0]), r[1]) for r in rows]


@library.move_saves.register(PostgresDatabase)
async def move_saves(db: PostgresDatabase, from_paper: int, to_paper: int) -> None:
    await move_rows(db, "library", ("user_id", "saved_at"), from_paper, to_paper)
