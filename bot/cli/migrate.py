"""`paperboy migrate-db FROM TO`: copy a whole archive between SQLite and PostgreSQL (either way),
checked table by table with row counts and content checksums before the copy commits
(storage/transfer.py has the how)."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import AsyncExitStack
from typing import TextIO

from bot.cli.common import CliContext, CliError, add_json_flag, positive_int, print_json
from bot.config import url_password
from storage.address import address_problem, shown_address
from storage.backends import open_database
from storage.instance_lock import exclusive, hold_shared
from storage.transfer import CACHES, CHUNK_ROWS, Mismatch, TransferReport, check_addresses, migrate

PERIOD = 2.0  # seconds between progress lines within a large table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "migrate-db",
        description="Copy every table of the archive FROM (a SQLite file, sqlite:///PATH or postgresql://...) into "
                    "TO, ids and all, in one transaction: then count and checksum every table on both sides and "
                    "commit only if they are equal. TO must be empty unless --force. Stop the bots using TO first. "
                    "Passwords: PGPASSWORD or ~/.pgpass (never on the command line).")
    p.add_argument("source", metavar="FROM", help="the archive to copy (it is only read)")
    p.add_argument("target", metavar="TO", help="where to copy it (created or migrated as needed)")
    p.add_argument("--force", action="store_true",
                   help="replace what TO holds: every row of it is deleted, in the same transaction as the copy")
    p.add_argument("--chunk-rows", type=positive_int, default=CHUNK_ROWS, metavar="N",
                   help=f"rows read and written at a time (default {CHUNK_ROWS})")
    add_json_flag(p)
    p.set_defaults(handler=run_migrate)


def _address(text: str, which: str) -> str:
    problem = address_problem(text)
    if problem:
        raise CliError(f"{which} {shown_address(text)!r} {problem}")
    if url_password(text):
        raise CliError(f"{which} {shown_address(text)!r} holds a password, and a command line is seen by every user "
                       "of the machine (ps); leave it out and give it in PGPASSWORD or ~/.pgpass")
    return text


class _Progress:
    """One line per table copied and checked on standard error, and a line every PERIOD seconds
    within a large table."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown = time.monotonic()

    def __call__(self, step: str, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        if step == "finishing":
            self._write("migrate-db: copied; building TO's indexes and statistics")
        elif step == "checking":
            self._write(f"migrate-db: checked {table} in TO: {done:,} rows")
        elif done == total or now - self.shown >= PERIOD:
            self._write(f"migrate-db: copying {table}: {done:,} of {total:,} rows")

    def _write(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()
        self.shown = time.monotonic()


async def run_migrate(ctx: CliContext) -> int:
    args = ctx.args
    source, target = _address(args.source, "FROM"), _address(args.target, "TO")
    check_addresses(source, target)
    async with AsyncExitStack() as stack:
        # A restore must not replace FROM while it is read; no bot may use a SQLite TO meanwhile.
        stack.callback(hold_shared(source).release)
        stack.enter_context(exclusive(target))
        source_db = await open_database(source)
        stack.push_async_callback(source_db.close)
        target_db = await open_database(target)
        stack.push_async_callback(target_db.close)
        try:
            report = await migrate(source_db, target_db, force=args.force, chunk_rows=args.chunk_rows,
                                   progress=_Progress(sys.stderr))
        except Mismatch as exc:
            _show(exc.report, args.json)
            raise
    _show(report, args.json)
    return 0


def _show(report: TransferReport, as_json: bool) -> None:
    if as_json:
        print_json({"source": report.source, "target": report.target, "matches": report.matches,
                    "rows": report.rows, "seconds": round(report.seconds, 3), "replaced": report.replaced,
                    "tables": [{"table": t.table, "source_rows": t.source.rows, "target_rows": t.target.rows,
                                "source_checksum": t.source.checksum, "target_checksum": t.target.checksum,
                                "matches": t.matches} for t in report.tables],
                    "emptied_caches": list(CACHES)})
        return
    width = max(len(t.table) for t in report.tables)
    print(f"{'table':<{width}}  {'rows FROM':>10}  {'rows TO':>10}  {'checksum FROM':<16}  checksum TO")
    for t in report.tables:
        mark = "" if t.matches else "  DIFFERENT"
        print(f"{t.table:<{width}}  {t.source.rows:>10,}  {t.target.rows:>10,}  {t.source.checksum[:16]}  "
              f"{t.target.checksum[:16]}{mark}")
    print(f"caches emptied, rebuilt when needed: {', '.join(CACHES)}")
    if report.replaced:
        print(f"replaced (--force): {sum(report.replaced.values()):,} rows {report.target} held before")
    if report.matches:
        print(f"Copied {report.rows:,} rows from {report.source} to {report.target} in {report.seconds:.1f} s: "
              "every table's count and checksum match.")
