"""The daily post to N servers from sharded `paperboy run` processes (#16), beside one process.

Real processes (testkit/sharded.py): `--processes` of them, each running an equal range of
`--shards` Discord shards, against one Discord fake holding `--servers` servers spread evenly over
the shards, all sharing one database: a SQLite file and, in the same run, a PostgreSQL database
(`--backends`). The baseline is the same posts from one process running every shard. Once every
shard is connected the day's digest is loaded from outside and every server's post falls due at
once. Measured: the fan-out's time (digest loaded to the last post), the most requests in any one
second over the whole run (Discord's global limit is 50 per token) as the processes sent them and
as the fake received them (higher when the fake, on the same busy CPUs, waits for one), each
process's posts.
Every server must end with exactly one post, from the process owning its shard.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import BenchError, Row
from bot.chat.shards import spelled
from testkit.sharded import ShardedRun, sharded_fan_out

NAME = "sharded-posting"
DESCRIPTION = "daily post to N servers from sharded bot processes vs one process: time and peak requests/s"
DISCORD_LIMIT = 50


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--servers", type=int, default=1000, help="servers due at once (default 1000)")
    parser.add_argument("--processes", type=int, default=3, help="sharded processes (default 3)")
    parser.add_argument("--shards", type=int, default=9, help="shards over all processes (default 9)")
    parser.add_argument("--backends", default="sqlite,postgres",
                        help="comma-separated: sqlite, postgres (default both, in the same run)")


def ranges(processes: int, shards: int) -> list[str]:
    """`shards` split into `processes` contiguous ranges, as even as they go."""
    size, extra = divmod(shards, processes)
    out, first = [], 0
    for i in range(processes):
        last = first + size + (i < extra)
        out.append(spelled(range(first, last)))
        first = last
    return out


@contextlib.contextmanager
def _address(backend: str, folder: Path, postgres: object) -> Iterator[str | None]:
    if backend == "sqlite":
        yield None  # a file in the run's folder
    else:
        with postgres.database() as url:  # type: ignore[attr-defined]
            yield url


def _row(label: str, backend: str, run: ShardedRun) -> Row:
    if not run.ok or run.statuses != {"sent": run.servers}:
        raise BenchError(f"{label} on {backend}: lost {run.lost}, duplicated {run.duplicated}, "
                         f"misplaced {run.misplaced}, registrations {run.registrations}, log {run.statuses}")
    return Row(NAME, f"{label}, {backend}", {
        "servers": run.servers, "processes": run.processes, "fan_out_s": run.fan_out_s,
        "posts_per_s": run.servers / run.fan_out_s if run.fan_out_s else 0.0,
        "max_in_1s_sent": run.max_in_1s, "within_limit": run.max_in_1s <= DISCORD_LIMIT,
        "max_in_1s_received": run.received_max_in_1s,
        "posts_each": "/".join(str(run.per_process[k]) for k in sorted(run.per_process)),
        "connect_s": run.connect_s, "requests": run.requests,
    })


def run(args: argparse.Namespace) -> list[Row]:
    if args.servers < 1 or args.processes < 1 or args.shards < args.processes:
        raise BenchError("--servers and --processes must be at least 1, and --shards at least --processes")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"sqlite", "postgres"}:
        raise BenchError("--backends takes sqlite, postgres or both")
    postgres = None
    if "postgres" in backends:
        from bench.ingest import Postgres

        postgres = Postgres()
    rows = []
    split = ranges(args.processes, args.shards)
    cases = [(f"{args.processes} processes ({', '.join(split)} of {args.shards})", split),
             ("1 process, every shard (baseline)", [None])]
    try:
        for backend in backends:
            for label, which in cases:
                with tempfile.TemporaryDirectory(prefix="paperboy-bench-") as tmp, \
                        _address(backend, Path(tmp), postgres) as address:
                    result = asyncio.run(sharded_fan_out(Path(tmp), address, servers=args.servers, ranges=which,
                                                         count=args.shards))
                rows.append(_row(label, backend, result))
    finally:
        if postgres is not None:
            postgres.stop()
    return rows
