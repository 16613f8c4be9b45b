"""A key/value table for the few things the bot remembers about itself between restarts.

Keys are dotted names owned by one feature each (the Discord transport keeps
"discord.commands.<application>.<scope>" → the hash of the command definitions it registered).
The SQL: storage/sqlite/app_state.py, storage/postgres/app_state.py.
"""

from __future__ import annotations

import datetime as dt

from storage.db import Database
from storage.dispatch import per_backend


@per_backend
async def get_value(db: Database, key: str) -> str | None:
    """The value stored under `key`, or None."""
    raise NotImplementedError


@per_backend
async def set_value(db: Database, key: str, value: str, *, now: dt.datetime | None = None) -> None:
    """Store `value` under `key`, replacing what was there."""
    raise NotImplementedError


@per_backend
async def delete_value(db: Database, key: str) -> bool:
    """Forget `key`; True when it was there."""
    raise NotImplementedError


@per_backend
async def keys_with_prefix(db: Database, prefix: str) -> list[str]:
    """Every key that starts with `prefix`, sorted (compared as text: no LIKE wildcards)."""
    raise NotImplementedError
