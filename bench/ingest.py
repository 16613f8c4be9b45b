"""Bulk loading: `paperboy ingest` of a synthetic arXiv snapshot on SQLite and on PostgreSQL,
against plain sqlite3 + FTS5.

For each size: the real command in a subprocess (`python -m bot --db X ingest corpus.jsonl
--json`, end to end: start-up, parsing, identity, entries, search indexing, commits) into a fresh
SQLite file and, with `--backends` including postgres, into a fresh database on a throw-away
PostgreSQL server (testkit/pg_server.py, started once for the run; `--server URL`: on an existing
server instead, e.g. on a host of its own, whose CPU is then not read); in the same run on the same
file, the baseline of bench/sqlite_baseline.py in its own subprocess. Reported: papers/s of each,
Paperboy's ratio to the baseline (target >= 0.6), PostgreSQL's ratio to SQLite (issue #16: target
>= 0.5), each process's peak RSS (flat in the corpus size when streaming works), the server's CPU
(its processes' own, read from /proc) and the database sizes. Then the 144-paper sample digest
through the whole command on a fresh database, beside the interpreter's bare start-up and the
import of the CLI, so a slow start shows where it comes from.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import statistics
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.common import (
    OUT,
    PYTHON,
    REPO,
    SAMPLE_DATE,
    SAMPLE_DIGEST,
    BenchError,
    ChildRun,
    Machine,
    Row,
    Value,
    check,
    remove_database,
    run_child,
    sampled,
    spread,
    top_frames,
)
from bench.corpus import ensure_corpus
from testkit import pg_server

NAME = "ingest"
DESCRIPTION = ("bulk loading through `paperboy ingest` on SQLite and PostgreSQL vs plain sqlite3 + FTS5 rebuild; "
               "sample-digest load time")
BACKENDS = ("sqlite", "postgres")


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` with its database replaced by `name` (its query, e.g. sslmode, kept)."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000])
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each timing, the bulk loads alternating with the baseline; "
                             "median (min-max) shown (default: %(default)s)")
    parser.add_argument("--one-core", action="store_true",
                        help="confine Paperboy and the baseline to one core (taskset -c 0), as on a busy machine")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sqlite3 baseline")
    parser.add_argument("--backends", type=_backends, default=list(BACKENDS), metavar="NAME,NAME",
                        help="where paperboy loads: sqlite, postgres or both (default: sqlite,postgres; "
                             "postgres needs postgresql-15's server programs)")
    parser.add_argument("--server", metavar="URL",
                        help="load into fresh databases on this PostgreSQL server (postgresql://ROLE@HOST/DB, a role "
                             "that may create databases; the password from PGPASSWORD) instead of a throw-away one "
                             "on this machine: a server on cores of its own; its CPU is not read")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample-digest timings")
    parser.add_argument("--profile", action="store_true",
                        help="sample paperboy with py-spy (all threads): bench/out/ingest-N.pyspy, top printed")


def _backends(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"backends are {', '.join(BACKENDS)}; got {text!r}")
    return [b for b in BACKENDS if b in names]


def _mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


ONE_CORE = ["taskset", "-c", "0"]


_databases = itertools.count(1)


class Postgres:
    """Where the PostgreSQL loads go: a fresh database for each, on the throw-away server or on the
    server of `admin_url` (a database on it that the role may create databases from), and the CPU
    the throw-away server's processes spent (the server's work is not in the paperboy child's CPU)."""

    def __init__(self, admin_url: str | None = None) -> None:
        self.server: pg_server.Server | None = None
        if admin_url is None:
            try:
                self.server = pg_server.start()
            except pg_server.ServerUnavailable as exc:
                raise BenchError(f"{exc} (or run with --backends sqlite, or --server URL)") from None
            admin_url = self.server.url
        self.admin_url = admin_url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    async def _admin(self, statement: str) -> int:
        conn = await asyncpg.connect(self.admin_url)
        try:
            if statement.startswith("SELECT"):
                return int(await conn.fetchval(statement))
            await conn.execute(statement)
            return 0
        finally:
            await conn.close()

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        name = f"bench_ingest_{os.getpid()}_{next(_databases)}"
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        try:
            yield database_url(self.admin_url, name)
        finally:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def size_mb(self, url: str) -> float:
        name = urlsplit(url).path.lstrip("/")
        return asyncio.run(self._admin(f"SELECT pg_database_size('{name}')")) / 1e6

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the throw-away server: the postmaster, its live processes, and those it
        reaped (None for a server of `--server`: not this machine's to read)."""
        if self.server is None:
            return None
        postmaster = int((self.server.root / "data" / "postmaster.pid").read_text().split()[0])
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                pid, ppid = int(entry.name), int(fields[1])
                if pid == postmaster:
                    total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
                elif ppid == postmaster:
                    total += int(fields[11]) + int(fields[12])
        return total / tick


def _paperboy(corpus: Path, size: int, profile: bool, prefix: list[str],
              postgres: Postgres | None = None) -> tuple[ChildRun, dict[str, Value]]:
    with contextlib.ExitStack() as stack:
        if postgres is None:
            db = OUT / f"bench-ingest-{size}.db"
            remove_database(db)
            stack.callback(remove_database, db)
            address = str(db)
        else:
            address = stack.enter_context(postgres.database())
        argv = [*prefix, PYTHON, "-m", "bot", "--db", address, "ingest", str(corpus), "--json"]
        prof = OUT / f"ingest-{size}{'-pg' if postgres else ''}.pyspy"
        if profile:
            argv = sampled(argv, prof)
        server_cpu = postgres.cpu_seconds() if postgres else None
        # In bench/out: files the command keeps beside a database (log, lock) follow the address.
        run = check(run_child(argv, cwd=OUT if postgres else REPO), f"paperboy ingest {corpus.name}")
        # Under --profile py-spy prints its own "py-spy> ..." lines on the same standard output.
        lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        loaded = sum(int(d.get("papers", 0)) for d in lines)
        if loaded != size:
            raise BenchError(f"paperboy ingest reported {loaded:,} papers, expected {size:,}")
        extra: dict[str, Value] = {"db MB": postgres.size_mb(address) if postgres else _mb(db),
                                   "digests": len(lines)}
        if postgres:
            after = postgres.cpu_seconds()
            extra["server CPU s"] = None if after is None or server_cpu is None else round(after - server_cpu, 1)
    if profile:
        print(f"\n-- py-spy samples of paperboy ingest, {size:,} papers ({prof}), top by own time:")
        print(top_frames(prof))
    return run, extra


def _baseline(corpus: Path, size: int, prefix: list[str]) -> tuple[ChildRun, dict[str, Value]]:
    db = OUT / f"bench-baseline-{size}.db"
    remove_database(db)
    run = check(run_child([*prefix, PYTHON, "-m", "bench.sqlite_baseline", str(corpus), str(db)]), "baseline")
    result = json.loads(run.stdout)
    if int(result["papers"]) != size:
        raise BenchError(f"the baseline loaded {result['papers']:,} papers, expected {size:,}")
    extra: dict[str, Value] = {"db MB": _mb(db), "load s": result["load_seconds"], "fts s": result["fts_seconds"]}
    remove_database(db)
    return run, extra


def _load_row(case: str, size: int, runs: list[ChildRun], extra: dict[str, Value]) -> Row:
    """Median (min-max) of wall and CPU seconds over the runs, papers/s of the median."""
    wall = statistics.median(r.seconds for r in runs)
    return Row(NAME, case, {
        "papers": size, "runs": len(runs), "seconds": spread([r.seconds for r in runs]),
        "CPU s": spread([r.cpu_seconds for r in runs]), "papers/s": size / wall,
        "peak RSS MB": max(r.peak_rss_mb for r in runs), **extra,
    })


def _median_run(argv: list[str], repeat: int, what: str, fresh_db: Path | None = None) -> tuple[float, float]:
    """Median wall seconds and peak RSS over `repeat` runs (a fresh database each time)."""
    times, rss = [], []
    for _ in range(repeat):
        if fresh_db is not None:
            remove_database(fresh_db)
        run = check(run_child(argv), what)
        times.append(run.seconds)
        rss.append(run.peak_rss_mb)
    if fresh_db is not None:
        remove_database(fresh_db)
    return statistics.median(times), max(rss)


def _sample_rows(repeat: int) -> list[Row]:
    db = OUT / "bench-sample.db"
    probe = "import sys, bot.cli; sys.exit('discord' in sys.modules)"
    leaks = run_child([PYTHON, "-c", probe])
    cases = [
        ("python start-up (-c pass)", [PYTHON, "-c", "pass"], None),
        ("import bot.cli", [PYTHON, "-c", "import bot.cli"], None),
        ("paperboy --help", [PYTHON, "-m", "bot", "--help"], None),
        ("ingest sample digest (144)",
         [PYTHON, "-m", "bot", "--db", str(db), "ingest", str(SAMPLE_DIGEST), "--date", SAMPLE_DATE], db),
    ]
    rows = []
    for case, argv, fresh in cases:
        seconds, rss = _median_run(argv, repeat, case, fresh)
        values: dict[str, int | float | str | bool | None] = {"seconds": seconds, "peak RSS MB": rss}
        if case == "import bot.cli":
            values["imports discord"] = leaks.returncode != 0
        rows.append(Row(NAME, case, values))
    return rows


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    prefix = ONE_CORE if args.one_core else []
    where = " on one core" if args.one_core else ""
    postgres = Postgres(args.server) if "postgres" in args.backends else None
    try:
        for size in args.sizes:
            rows.extend(_size_rows(args, size, prefix, where, postgres))
    finally:
        if postgres is not None:
            postgres.stop()
    if not args.no_sample:
        rows.extend(_sample_rows(args.repeat))
    return rows


def _size_rows(args: argparse.Namespace, size: int, prefix: list[str], where: str,
               postgres: Postgres | None) -> list[Row]:
    rows: list[Row] = []
    corpus = ensure_corpus(size, args.seed)
    machine = Machine()
    ours: dict[str, list[ChildRun]] = {b: [] for b in args.backends}
    extras: dict[str, list[dict[str, Value]]] = {b: [] for b in args.backends}
    theirs: list[ChildRun] = []
    theirs_extra: dict[str, Value] = {}
    for _ in range(max(1, args.repeat)):  # alternating, so all see the same machine
        if not args.no_baseline:
            run_, theirs_extra = _baseline(corpus, size, prefix)
            theirs.append(run_)
        for backend in args.backends:
            run_, extra = _paperboy(corpus, size, args.profile, prefix, postgres if backend == "postgres" else None)
            ours[backend].append(run_)
            extras[backend].append(extra)
    profiled = " (py-spy)" if args.profile else ""
    for backend in args.backends:
        extra = extras[backend][-1]
        if backend == "postgres" and postgres is not None and postgres.server is not None:
            extra["server CPU s"] = spread([float(e["server CPU s"] or 0) for e in extras[backend]])
        row = _load_row(f"paperboy {backend} {size:,}{where}{profiled}", size, ours[backend], extra)
        if theirs:
            ratios = [t.seconds / o.seconds for o, t in zip(ours[backend], theirs, strict=True)]
            row.values["vs baseline"] = spread(ratios)
            row.values["CPU vs baseline"] = round(
                statistics.median(o.cpu_seconds for o in ours[backend])
                / statistics.median(t.cpu_seconds for t in theirs), 2)
        if backend == "postgres" and "sqlite" in ours:
            ratios = [s.seconds / p.seconds for s, p in zip(ours["sqlite"], ours["postgres"], strict=True)]
            row.values["vs sqlite"] = spread(ratios)
        rows.append(row)
    if theirs:
        rows.append(_load_row(f"sqlite3 baseline {size:,}{where}", size, theirs, theirs_extra))
    rows[-1].values.update(machine.values(sum(r.cpu_seconds for runs in [*ours.values(), theirs] for r in runs)))
    return rows
