"""storage/sendlog.py on PostgreSQL.

A batch's rows go in as one jsonb array read back as the table's own row type
(`jsonb_populate_recordset(NULL::table, …)`), so every column keeps its type without a list of
types here. Claims lock the rows they take with FOR UPDATE SKIP LOCKED: two processes draining the
same log never wait for each other, and a row the other one is claiming is simply not theirs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from storage import sendlog
from storage.db import now_utc
from storage.postgres.db import PostgresDatabase
from storage.sendlog import RowUpdate, checked, expected, groups_of


def _moment(value: Any) -> Any:
    # Whole seconds, as the SQLite side stores them (storage.db.iso).
    return value.replace(microsecond=0) if isinstance(value, dt.datetime) else value


def _json_value(value: Any) -> Any:
    return _moment(value).isoformat() if isinstance(value, dt.datetime) else value


@sendlog.update_row.register(PostgresDatabase)
async def update_row(db: PostgresDatabase, table: str, allowed: Collection[str], row_id: int, *,
                     expect: str | Sequence[str] | None = None, now: dt.datetime | None = None,
                     **values: Any) -> bool:
    checked(table, allowed, values)
    params: list[Any] = [_moment(v) for v in values.values()]
    sets = "".join(f"{name} = ${i + 1}, " for i, name in enumerate(values))
    params += [_moment(now or now_utc()), row_id]
    where = f"id = ${len(params)}"
    wanted = expected(expect)
    if wanted is not None:
        params.append(list(wanted))
        where += f" AND status = ANY(${len(params)}::text[])"
    # The table and the columns come from fixed allow-lists, never from user text.
    sql = f"UPDATE {table} SET {sets}updated_at = ${len(values) + 1} WHERE {where}"  # noqa: S608
    return await db.execute(sql, params) > 0


@sendlog.update_rows.register(PostgresDatabase)
async def update_rows(db: PostgresDatabase, table: str, allowed: Collection[str], updates: Sequence[RowUpdate], *,
                      now: dt.datetime | None = None) -> set[int]:
    stamp = now or now_utc()
    changed: set[int] = set()
    async with db.transaction() as conn:
        for columns, expect, group in groups_of(table, allowed, updates):
            rows = [{"id": u.row_id, "updated_at": _json_value(u.at or stamp),
                     **{name: _json_value(v) for name, v in u.values.items()}} for u in group]
            sets = "".join(f"{name} = k.{name}, " for name in columns)
            where = f"{table}.id = k.id"
            params: list[Any] = [rows]
            if expect is not None:
                where += f" AND {table}.status = ANY($2::text[])"
                params.append(list(expect))
            found = await conn.fetch(
                f"UPDATE {table} SET {sets}updated_at = k.updated_at"  # noqa: S608
                f" FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb) AS k"
                f" WHERE {where} RETURNING {table}.id", *params)
            changed.update(int(r[0]) for r in found)
    return changed


@sendlog.claim_rows.register(PostgresDatabase)
async def claim_rows(db: PostgresDatabase, table: str, rows: Sequence[tuple[int, int]], *,
                     now: dt.datetime) -> set[int]:
    if not rows:
        return set()
    found = await db.fetchall(
        f"UPDATE {table} AS t SET status = 'sending', attempts = k.attempts + 1, next_attempt_at = NULL,"  # noqa: S608
        " updated_at = $3"
        f" FROM (SELECT c.id, x.attempts FROM unnest($1::bigint[], $2::integer[]) AS x (id, attempts)"
        f" JOIN {table} AS c ON c.id = x.id WHERE c.status = 'pending' ORDER BY c.id FOR UPDATE OF c SKIP LOCKED) AS k"
        " WHERE t.id = k.id RETURNING t.id",
        ([i for i, _ in rows], [n for _, n in rows], _moment(now)))
    return {int(r[0]) for r in found}
