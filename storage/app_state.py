"""A key/value table for the few things the bot remembers about itself between restarts.

Keys are dotted names owned by one feature each (the Discord transport keeps
"discord.commands.<application>.<scope>" → the hash of the command definitions it registered).
"""

from __future__ import annotations

import datetime as dt

from storage.db import Database, iso, now_utc


async def get_value(db: Database, key: str) -> str | None:
    row = await db.fetchone("SELECT value FROM app_state WHERE key = ?", (key,))
    return str(row["value"]) if row else None


async def set_value(db: Database, key: str, value: str, *, now: dt.datetime | None = None) -> None:
    await db.execute(
        "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, iso(now or now_utc())))


async def delete_value(db: Database, key: str) -> bool:
    """Forget `key`; True when it was there."""
    return await db.execute("DELETE FROM app_state WHERE key = ?", (key,)) > 0


async def keys_with_prefix(db: Database, prefix: str) -> list[str]:
    """Every key that starts with `prefix`, sorted (compared as text: no LIKE wildcards)."""
    rows = await db.fetchall("SELECT key FROM app_state WHERE substr(key, 1, ?) = ? ORDER BY key",
                             (len(prefix), prefix))
    return [str(r["key"]) for r in rows]
