"""storage/app_state.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from storage import app_state
from storage.db import now_utc
from storage.postgres.db import PostgresDatabase


@app_state.get_value.register(PostgresDatabase)
async def get_value(db: PostgresDatabase, key: str) -> str | None:
    row = await db.fetchone("SELECT value FROM app_state WHERE key = $1", (key,))
    return str(row["value"]) if row else None


@app_state.set_value.register(PostgresDatabase)
async def set_value(db: PostgresDatabase, key: str, value: str, *, now: dt.datetime | None = None) -> None:
    await db.execute(
        "INSERT INTO app_state (key, value, updated_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, now or now_utc()))


@app_state.delete_value.register(PostgresDatabase)
async def delete_value(db: PostgresDatabase, key: str) -> bool:
    return await db.execute("DELETE FROM app_state WHERE key = $1", (key,)) > 0


@app_state.keys_with_prefix.register(PostgresDatabase)
async def keys_with_prefix(db: PostgresDatabase, prefix: str) -> list[str]:
    rows = await db.fetchall("SELECT key FROM app_state WHERE left(key, $1) = $2 ORDER BY key COLLATE \"C\"",
                             (len(prefix), prefix))
    return [str(r["key"]) for r in rows]
