"""`python -m testkit.faults.stop_before_commit MARKER [--commit N] [--batch-rows R] paperboy-args…`:
the real `paperboy` command, except that the N-th COMMIT (default: the first) of a transaction
made once the archive holds papers stops short: it creates MARKER and waits forever, so a test
can SIGKILL the process at the last moment before that transaction commits. On an empty
archive the first such COMMIT is the load's; the next ones are the queueing batches that run
after it (`--batch-rows` makes them small, so a few subscribers take several).

Waiting for the write-ahead log to grow is not a reliable sign of "mid-transaction": SQLite keeps a
load's pages in its cache and writes most of them to the log during COMMIT itself, so a kill timed
that way often lands just after the commit."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiosqlite

from bot.cli import main


def stop_before_load_commits(marker: Path, nth: int = 1) -> None:
    execute = aiosqlite.Connection.execute
    seen = 0

    async def _before_commit(conn: aiosqlite.Connection) -> None:
        nonlocal seen
        async with execute(conn, "SELECT COUNT(*) FROM papers") as cursor:
            row = await cursor.fetchone()
        if row is not None and row[0] > 0:
            seen += 1
            if seen == nth:
                marker.write_text(str(row[0]), encoding="utf-8")
                await asyncio.Event().wait()  # until SIGKILL

    def patched(conn: aiosqlite.Connection, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql.strip().upper() != "COMMIT":
            return execute(conn, sql, *args, **kwargs)

        async def commit_later() -> Any:
            await _before_commit(conn)
            return await execute(conn, sql, *args, **kwargs)

        return commit_later()

    aiosqlite.Connection.execute = patched  # type: ignore[method-assign]


def _options(argv: list[str]) -> tuple[Path, int, int | None, list[str]]:
    """MARKER, then any of --commit N and --batch-rows R; the rest is the paperboy command line."""
    marker, rest = Path(argv[0]), argv[1:]
    found = {"--commit": "1", "--batch-rows": ""}
    while rest and rest[0] in found:
        found[rest[0]], rest = rest[1], rest[2:]
    rows = found["--batch-rows"]
    return marker, int(found["--commit"]), int(rows) if rows else None, rest


if __name__ == "__main__":
    marker, nth, batch_rows, rest = _options(sys.argv[1:])
    if batch_rows is not None:
        from bot.subscriptions import notify

        notify.BATCH_ROWS = batch_rows
    stop_before_load_commits(marker, nth)
    raise SystemExit(main(rest))
