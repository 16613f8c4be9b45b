"""storage/library.py on SQLite."""

from __future__ import annotations

import datetime as dt

from storage import library
from storage.db import iso, parse_iso
from storage.library import SavedPaper
from storage.sqlite.db import SqliteDatabase
from storage.sqlite.votes import move_rows


@library.save.register(SqliteDatabase)
async def save(db: SqliteDatabase, user_id: str, paper_id: int, *, now: dt.datetime) -> bool:
    return await db.execute(
        "INSERT INTO library (user_id, paper_id, saved_at) VALUES (?, ?, ?) ON CONFLICT (user_id, paper_id) DO NOTHING",
        (user_id, paper_id, iso(now, precise=True))) > 0


@library.remove.register(SqliteDatabase)
async def remove(db: SqliteDatabase, user_id: str, paper_id: int) -> bool:
    return await db.execute("DELETE FROM library WHERE user_id = ? AND paper_id = ?", (user_id, paper_id)) > 0


@library.is_saved.register(SqliteDatabase)
async def is_saved(db: SqliteDatabase, user_id: str, paper_id: int) -> bool:
    return await db.fetchone("SELECT 1 FROM library WHERE user_id = ? AND paper_id = ?",
                             (user_id, paper_id)) is not None


@library.size.register(SqliteDatabase)
async def size(db: SqliteDatabase, user_id: str) -> int:
    row = await db.fetchone("SELECT count(*) FROM library WHERE user_id = ?", (user_id,))
    return int(row[0]) if row else 0


@library.saved.register(SqliteDatabase)
async def saved(db: SqliteDatabase, user_id: str, *, limit: int | None = None, offset: int = 0) -> list[SavedPaper]:
    rows = await db.fetchall(
        "SELECT paper_id, saved_at FROM library WHERE user_id = ? ORDER BY saved_at DESC, paper_id DESC"
        " LIMIT ? OFFSET ?", (user_id, -1 if limit is None else limit, offset))
    return [SavedPaper(int(r[0]), parse_iso(str(r[1]))) for r in rows]


@library.move_saves.register(SqliteDatabase)
async def move_saves(db: SqliteDatabase, from_paper: int, to_paper: int) -> None:
    await move_rows(db, "library", ("user_id", "saved_at"), from_paper, to_paper)
