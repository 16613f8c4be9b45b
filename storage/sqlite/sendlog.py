"""storage/sendlog.py on SQLite: each batch's rows go in as one JSON array joined with UPDATE … FROM."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from typing import Any

from storage import sendlog
from storage.db import iso, now_utc
from storage.sendlog import RowUpdate, checked, claims, expected, groups_of
from storage.sqlite.db import SqliteDatabase


@sendlog.update_row.register(SqliteDatabase)
async def update_row(db: SqliteDatabase, table: str, allowed: Collection[str], row_id: int, *,
                     expect: str | Sequence[str] | None = None, now: dt.datetime | None = None,
                     **values: Any) -> bool:
    checked(table, allowed, values)
    params: list[Any] = [iso(v) if isinstance(v, dt.datetime) else v for v in values.values()]
    sets = "".join(f"{name} = ?, " for name in values)
    where = "id = ?"
    params += [iso(now or now_utc()), row_id]
    wanted = expected(expect)
    if wanted is not None:
        where += f" AND status IN ({', '.join('?' for _ in wanted)})"
        params += wanted
    return await db.execute(f"UPDATE {table} SET {sets}updated_at = ? WHERE {where}", params) > 0  # noqa: S608


@sendlog.update_rows.register(SqliteDatabase)
async def update_rows(db: SqliteDatabase, table: str, allowed: Collection[str], updates: Sequence[RowUpdate], *,
                      now: dt.datetime | None = None) -> set[int]:
    stamp = now or now_utc()
    changed: set[int] = set()
    async with db.transaction() as conn:
        for columns, expect, group in groups_of(table, allowed, updates):
            rows = json.dumps([[u.row_id, iso(u.at or stamp),
                                *(iso(v) if isinstance(v, dt.datetime) else v for v in u.values.values())]
                               for u in group])
            sets = "".join(f"{name} = k.value ->> {i + 2}, " for i, name in enumerate(columns))
            where = f"{table}.id = k.value ->> 0"
            params: list[Any] = [rows]
            if expect is not None:
                where += f" AND {table}.status IN ({', '.join('?' for _ in expect)})"
                params += expect
            # One round trip (execute and fetch together): the transaction lock is held meanwhile.
            found = await conn.execute_fetchall(
                f"UPDATE {table} SET {sets}updated_at = k.value ->> 1 FROM json_each(?) AS k"  # noqa: S608
                f" WHERE {where} RETURNING {table}.id", params)
            changed.update(int(r[0]) for r in found)
    return changed


@sendlog.claim_rows.register(SqliteDatabase)
async def claim_rows(db: SqliteDatabase, table: str, rows: Sequence[tuple[int, int]], *, now: dt.datetime) -> set[int]:
    # One writer at a time on SQLite: the compare-and-set alone decides who takes a row.
    return await update_rows(db, table, ("status", "attempts", "next_attempt_at"), claims(rows), now=now)
