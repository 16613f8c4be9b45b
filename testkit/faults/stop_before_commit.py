"""`python -m testkit.faults.stop_before_commit MARKER paperboy-args…`: the real `paperboy` command,
except that the first COMMIT of a transaction that wrote papers stops short: it creates MARKER and
waits forever, so a test can SIGKILL the process at the last moment before the load commits.

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


def stop_before_load_commits(marker: Path) -> None:
    execute = aiosqlite.Connection.execute

    async def _before_commit(conn: aiosqlite.Connection) -> None:
        async with execute(conn, "SELECT COUNT(*) FROM papers") as cursor:
            row = await cursor.fetchone()
        if row is not None and row[0] > 0:
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


if __name__ == "__main__":
    stop_before_load_commits(Path(sys.argv[1]))
    raise SystemExit(main(sys.argv[2:]))
