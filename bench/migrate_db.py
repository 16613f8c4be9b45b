"""`python -m bench migrate-db`: `paperboy migrate-db` of a whole archive, SQLite -> PostgreSQL and
back (issue #16), as whole processes: wall time, rows per second, and each process's peak memory,
which must not grow with the archive (rows stream through in chunks).

The archive is the bench corpus loaded by the real `paperboy ingest` (bench.corpus.ensure_database);
PostgreSQL is a throw-away server (testkit.pg_server) on this machine. The copy back goes to a new
SQLite file; both copies must report every table's count and checksum equal (the command checks
it before committing, and exits 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import asyncpg

from bench.common import PYTHON, BenchError, Row, check, run_child
from bench.corpus import ensure_database
from testkit import pg_server

NAME = "migrate-db"
DESCRIPTION = "paperboy migrate-db SQLite -> PostgreSQL -> SQLite: time, rows/s, peak RSS"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunk-rows", type=int, default=5000, help="rows per chunk (default: %(default)s)")
    parser.set_defaults(sizes=[100_000])


async def _create(server: pg_server.Server, name: str) -> str:
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.database_url(name)


def _copy(source: str, target: str, chunk_rows: int, what: str, size: int) -> Row:
    run = check(run_child([PYTHON, "-m", "bot", "migrate-db", source, target, "--chunk-rows", str(chunk_rows),
                           "--json"]), f"migrate-db {what}")
    report = json.loads(run.stdout)
    if not report["matches"]:
        raise BenchError(f"migrate-db {what}: counts or checksums differ")
    rows = int(report["rows"])
    return Row(NAME, f"{what}, {size:,} papers", {
        "rows": rows, "seconds": round(run.seconds, 1), "rows/s": round(rows / run.seconds),
        "peak RSS MB": round(run.peak_rss_mb), "CPU s": round(run.cpu_seconds, 1)})


def run(args: argparse.Namespace) -> list[Row]:
    import asyncio

    rows = []
    server = pg_server.start()
    try:
        for size in args.sizes:
            archive = ensure_database(size, args.seed)
            url = asyncio.run(_create(server, f"migrate_{size}"))
            rows.append(_copy(str(archive), url, args.chunk_rows, "SQLite -> PostgreSQL", size))
            with tempfile.TemporaryDirectory(prefix="paperboy-migrate-") as folder:
                back = Path(folder) / "back.db"
                rows.append(_copy(url, str(back), args.chunk_rows, "PostgreSQL -> SQLite", size))
    finally:
        server.stop()
    return rows
