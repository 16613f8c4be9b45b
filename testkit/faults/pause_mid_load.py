"""`python -m testkit.faults.pause_mid_load MARKER WHERE paperboy-args…`: the real `paperboy` command,
except that once a load has committed papers, its next transaction pauses: it writes the number of
papers committed so far to MARKER and waits until the process is interrupted, so a test can send
SIGINT at a known point of a load.

WHERE is "begin" (the next transaction's BEGIN IMMEDIATE has run and its await is the one
interrupted: the transaction is open, nothing written yet) or "written" (the next chunk is written,
its COMMIT not yet sent). A signal sent by timing alone mostly lands between transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from typing import Any

import aiosqlite

from bot.cli import main

_PAUSE_AT = {"begin": "BEGIN IMMEDIATE", "written": "UPDATE DIGESTS SET PAPER_COUNT"}  # the chunk's last write


def pause_mid_load(marker: Path, where: str) -> None:
    execute = aiosqlite.Connection.execute
    committed = 0  # papers committed before the pause
    paused = False

    async def papers(conn: aiosqlite.Connection) -> int:
        try:
            async with execute(conn, "SELECT COUNT(*) FROM papers") as cursor:
                row = await cursor.fetchone()
        except sqlite3.OperationalError:  # a new database, before its migrations
            return 0
        return int(row[0]) if row else 0

    def patched(conn: aiosqlite.Connection, sql: str, *args: Any, **kwargs: Any) -> Any:
        statement = sql.strip().upper()
        if paused:
            return execute(conn, sql, *args, **kwargs)
        if statement == "COMMIT" and not committed:

            async def commit() -> Any:
                nonlocal committed
                result = await execute(conn, sql, *args, **kwargs)
                committed = await papers(conn)
                return result

            return commit()
        if committed and statement.startswith(_PAUSE_AT[where]):

            async def run_then_pause() -> Any:
                nonlocal paused
                result = await execute(conn, sql, *args, **kwargs)
                paused = True
                marker.write_text(str(committed), encoding="utf-8")
                await asyncio.Event().wait()  # until SIGINT cancels the command
                return result

            return run_then_pause()
        return execute(conn, sql, *args, **kwargs)

    aiosqlite.Connection.execute = patched  # type: ignore[method-assign]


if __name__ == "__main__":
    pause_mid_load(Path(sys.argv[1]), sys.argv[2])
    raise SystemExit(main(sys.argv[3:]))
