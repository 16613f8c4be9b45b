"""Compare-and-set row updates shared by the send logs (the post log, the delivery log).

Both logs move a row through pending → sending → sent/failed, and two tasks or processes must
never both move the same row out of a status: `update_row` sets some columns, optionally only
while the row's status is one of `expect`, and says whether it changed. Column names come from
each log's fixed allow-list, never from user text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from storage.db import Database, iso, now_utc


async def update_row(db: Database, table: str, allowed: Collection[str], row_id: int, *,
                     expect: str | Sequence[str] | None = None, now: dt.datetime | None = None,
                     **values: Any) -> bool:
    """Set `values` (datetimes stored as ISO) and updated_at on row `row_id`; with `expect`, only
    while its status is one of those. True when the row changed."""
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"not a {table} column that can be updated: {sorted(unknown)}")
    params: list[Any] = [iso(v) if isinstance(v, dt.datetime) else v for v in values.values()]
    sets = "".join(f"{name} = ?, " for name in values)
    where = "id = ?"
    params += [iso(now or now_utc()), row_id]
    if expect is not None:
        wanted = [expect] if isinstance(expect, str) else list(expect)
        where += f" AND status IN ({', '.join('?' for _ in wanted)})"
        params += wanted
    return await db.execute(f"UPDATE {table} SET {sets}updated_at = ? WHERE {where}", params) > 0  # noqa: S608
