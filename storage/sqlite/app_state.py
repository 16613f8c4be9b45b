"""storage/app_state.py on SQLite."""

from __future__ import annotations

import datetime as dt

from storage import app_state
from storage.db import iso, now_utc
from storage.sqlite.db import SqliteDatabase


@app_state.get_value.register(SqliteDatabase)
async def get_value(db: SqliteDatabase, key: str) -> str | None:
    row = await db.fetchone("SELECT value FROM app_state WHERE key = ?", (key,))
    return str(row["value"]) if row else None


@app_state.set_value.register(SqliteDatabase)
async def set_value(db: SqliteDatabase, key: str, value: str, *, now: dt.datetime | None = None) -> None:
    await db.execute(
        "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, iso(now or now_utc())))


@app_state.delete_value.register(SqliteDatabase)
async def delete_value(db: SqliteDatabase, key: str) -> bool:
    return await db.execute("DELETE FROM app_state WHERE key = ?", (key,)) > 0


@app_state.keys_with_prefix.register(SqliteDatabase)
async def keys_with_prefix(db: SqliteDatabase, prefix: str) -> list[str]:
    rows = await db.fetchall("SELECT key FROM app_state WHERE substr(key, 1, ?) = ? ORDER BY key",
                             (len(prefix), prefix))
    return [str(r["key"]) for r in rows]
