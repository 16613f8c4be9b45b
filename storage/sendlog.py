"""Compare-and-set row updates shared by the send logs (the post log, the notification log).

Both logs move a row through pending → sending → sent/failed, and two tasks or processes must
never both move the same row out of a status: `update_row` sets some columns, optionally only
while the row's status is one of `expect`, and says whether it changed. Column names come from
each log's fixed allow-list, never from user text.

A fan-out (1,000 daily posts, a digest's notifications) makes two such updates per message. One
transaction each means thousands of turns of the process's single transaction lock, each waiting
behind whatever holds it (a digest load, reads queued on the connection's thread). `GroupWriter`
lets concurrent senders share transactions instead: every update asked for while one transaction
is being written goes into the next one, and each caller still learns whether its row changed,
only once that transaction has committed (so 'sending' is durable before the send, as before).

The SQL: storage/sqlite/sendlog.py, storage/postgres/sendlog.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from storage.db import Database
from storage.dispatch import per_backend


@dataclass(frozen=True, slots=True)
class RowUpdate:
    """Set `values` on row `row_id`; with `expect`, only while its status is one of those."""

    row_id: int
    values: dict[str, Any]
    expect: tuple[str, ...] | None = None
    at: dt.datetime | None = None  # updated_at (default: the batch's `now`)


def expected(expect: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if expect is None:
        return None
    return (expect,) if isinstance(expect, str) else tuple(expect)


def checked(table: str, allowed: Collection[str], values: dict[str, Any]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"not a {table} column that can be updated: {sorted(unknown)}")


@per_backend
async def update_row(db: Database, table: str, allowed: Collection[str], row_id: int, *,
                     expect: str | Sequence[str] | None = None, now: dt.datetime | None = None,
                     **values: Any) -> bool:
    """Set `values` and updated_at on row `row_id` of `table` (columns from `allowed`); with
    `expect`, only while its status is one of those. True when the row changed."""
    raise NotImplementedError


@per_backend
async def update_rows(db: Database, table: str, allowed: Collection[str], updates: Sequence[RowUpdate], *,
                      now: dt.datetime | None = None) -> set[int]:
    """Apply many `update_row`s in one transaction; the ids of the rows that changed.

    Updates setting the same columns with the same `expect` go in one statement, so a batch is a
    few round trips, not one per row. A row updated twice in one batch gets its updates in order.
    """
    raise NotImplementedError


@per_backend
async def claim_rows(db: Database, table: str, rows: Sequence[tuple[int, int]], *, now: dt.datetime) -> set[int]:
    """pending → sending, in one transaction, for each (row id, attempts so far) still pending:
    attempts + 1, next_attempt_at cleared, updated_at `now`. The ids this call took; a row another
    task or process took first is not among them (on PostgreSQL such a row is skipped, not waited
    for: FOR UPDATE SKIP LOCKED)."""
    raise NotImplementedError


def claims(rows: Sequence[tuple[int, int]]) -> list[RowUpdate]:
    """`claim_rows` as plain compare-and-set updates."""
    return [RowUpdate(i, {"status": "sending", "attempts": n + 1, "next_attempt_at": None}, ("pending",))
            for i, n in rows]


def groups_of(table: str, allowed: Collection[str],
              updates: Sequence[RowUpdate]) -> list[tuple[tuple[str, ...], tuple[str, ...] | None, list[RowUpdate]]]:
    """`updates` cut into runs that one statement can apply: the same columns and `expect`, no row
    twice (only consecutive updates merge, so the order of a row's updates holds). Checks the columns."""
    groups: list[tuple[tuple[str, ...], tuple[str, ...] | None, list[RowUpdate]]] = []
    for update in updates:
        checked(table, allowed, update.values)
        columns = tuple(update.values)
        last = groups[-1] if groups else None
        if last is not None and last[0] == columns and last[1] == update.expect and all(
                u.row_id != update.row_id for u in last[2]):
            last[2].append(update)
        else:
            groups.append((columns, update.expect, [update]))
    return groups


class GroupWriter:
    """Row updates from concurrent tasks, written together: one transaction per batch.

    `await writer.update(row_id, expect=…, **values)` returns, like `update_row`, whether the row
    changed, once the transaction holding it has committed; `submit` queues an update without
    waiting for it, and `flush` waits for everything submitted. While a batch is being written, new
    updates wait for the next one; a batch holds at most `max_rows` updates. A failed batch fails
    each of its callers with the same error (nothing of it was written).

    `linger` (seconds) waits that long before writing a batch, so that updates arriving a little
    apart (sends paced by a rate limit) share it: at most 1/linger transactions a second.
    """

    def __init__(self, db: Database, table: str, allowed: Collection[str], *, max_rows: int = 200,
                 linger: float = 0.0) -> None:
        self.db = db
        self.table = table
        self.allowed = allowed
        self.max_rows = max_rows
        self.linger = linger
        self._queued: list[tuple[RowUpdate, asyncio.Future[bool]]] = []
        self._writing: asyncio.Task[None] | None = None
        self._submitted: list[asyncio.Future[bool]] = []
        self.transactions = 0  # how many were written (for benches and tests)

    def submit(self, row_id: int, *, expect: str | Sequence[str] | None = None, now: dt.datetime | None = None,
               **values: Any) -> asyncio.Future[bool]:
        """Queue an update; its future says whether the row changed once written. `flush` waits for all."""
        checked(self.table, self.allowed, values)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append((RowUpdate(row_id, values, expected(expect), now), done))
        self._submitted.append(done)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name=f"{self.table} log writer")
        return done

    async def update(self, row_id: int, *, expect: str | Sequence[str] | None = None,
                     now: dt.datetime | None = None, **values: Any) -> bool:
        """Queue an update and wait until it is written; True when the row changed."""
        # Shielded: a caller cancelled while waiting must not cancel the batch the others share.
        return await asyncio.shield(self.submit(row_id, expect=expect, now=now, **values))

    async def flush(self) -> None:
        """Wait until every update submitted so far is written; raises the first that failed."""
        submitted, self._submitted = self._submitted, []
        await asyncio.gather(*submitted)

    async def _write(self) -> None:
        batch: list[tuple[RowUpdate, asyncio.Future[bool]]] = []
        try:
            while self._queued:
                if self.linger > 0:
                    await asyncio.sleep(self.linger)
                batch, self._queued = self._queued[:self.max_rows], self._queued[self.max_rows:]
                try:
                    changed = await update_rows(self.db, self.table, self.allowed, [u for u, _ in batch])
                except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                self.transactions += 1
                for update, done in batch:
                    if not done.done():
                        done.set_result(update.row_id in changed)
        finally:
            # Cancelled (the loop closing): whoever still waits learns that nothing was written.
            for _, done in [*batch, *self._queued]:
                if not done.done():
                    done.cancel()
            self._queued = []


class Starter:
    """pending → sending (attempts + 1) for the rows a sender is about to send, a few at a time.

    `plan` gives the rows in the order they will be sent; `start(row)` writes 'sending' for that
    row and for the next `ahead - 1` planned rows not yet started, in one transaction, and returns
    once it is written whether this row changed (False: another task or process took it). So at
    most `ahead - 1` rows are marked before their turn; a crash leaves them 'sending' like the one
    in flight, and recovery settles them the same way (re-sent with their key, or 'unknown').
    """

    def __init__(self, db: Database, table: str, allowed: Collection[str], *, ahead: int = 5) -> None:
        self.db = db
        self.table = table
        self.allowed = allowed
        self.ahead = max(ahead, 1)
        self._planned: list[tuple[int, int]] = []
        self._place: dict[int, int] = {}
        self._started: dict[int, asyncio.Future[set[int]]] = {}

    def plan(self, rows: Sequence[tuple[int, int]]) -> None:
        """(row id, attempts so far) of the rows to send, in order."""
        self._planned = list(rows)
        self._place = {row_id: i for i, (row_id, _) in enumerate(self._planned)}

    async def start(self, row_id: int, attempts: int, now: dt.datetime) -> bool:
        if row_id not in self._started:
            batch = [(row_id, attempts)]
            place = self._place.get(row_id)
            if place is not None:
                later = (r for r in self._planned[place + 1:] if r[0] not in self._started)
                batch += [r for _, r in zip(range(self.ahead - 1), later, strict=False)]
            written = asyncio.ensure_future(claim_rows(self.db, self.table, batch, now=now))
            for i, _ in batch:
                self._started[i] = written
        return row_id in await asyncio.shield(self._started[row_id])
