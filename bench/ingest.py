"""Bulk loading: `paperboy ingest` of a synthetic arXiv snapshot against plain sqlite3 + FTS5.

For each size: the real command in a subprocess (`python -m bot --db X ingest corpus.jsonl
--json`, end to end: start-up, parsing, identity, entries, FTS5 indexing, commits) and, in the same
run on the same file, the baseline of bench/sqlite_baseline.py in its own subprocess. Reported:
papers/s of each, Paperboy's ratio to the baseline (target >= 0.6), each process's peak RSS (flat
in the corpus size when streaming works) and the database sizes. Then the 144-paper sample
digest through the whole command on a fresh database, beside the interpreter's bare start-up
and the import of the CLI, so a slow start shows where it comes from.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from bench.common import (
    OUT,
    PYTHON,
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

NAME = "ingest"
DESCRIPTION = "bulk loading through `paperboy ingest` vs plain sqlite3 + FTS5 rebuild; sample-digest load time"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000])
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each timing, the bulk loads alternating with the baseline; "
                             "median (min-max) shown (default: %(default)s)")
    parser.add_argument("--one-core", action="store_true",
                        help="confine Paperboy and the baseline to one core (taskset -c 0), as on a busy machine")
    parser.add_argument("--no-baseline", action="store_true", help="skip the sqlite3 baseline")
    parser.add_argument("--no-sample", action="store_true", help="skip the sample-digest timings")
    parser.add_argument("--profile", action="store_true",
                        help="sample paperboy with py-spy (all threads): bench/out/ingest-N.pyspy, top printed")


def _mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


ONE_CORE = ["taskset", "-c", "0"]


def _paperboy(corpus: Path, size: int, profile: bool, prefix: list[str]) -> tuple[ChildRun, dict[str, Value]]:
    db = OUT / f"bench-ingest-{size}.db"
    remove_database(db)
    argv = [*prefix, PYTHON, "-m", "bot", "--db", str(db), "ingest", str(corpus), "--json"]
    prof = OUT / f"ingest-{size}.pyspy"
    if profile:
        argv = sampled(argv, prof)
    run = check(run_child(argv), f"paperboy ingest {corpus.name}")
    # Under --profile py-spy prints its own "py-spy> ..." lines on the same standard output.
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    loaded = sum(int(d.get("papers", 0)) for d in lines)
    if loaded != size:
        raise BenchError(f"paperboy ingest reported {loaded:,} papers, expected {size:,}")
    extra: dict[str, Value] = {"db MB": _mb(db), "digests": len(lines)}
    remove_database(db)
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
    for size in args.sizes:
        corpus = ensure_corpus(size, args.seed)
        machine = Machine()
        ours: list[ChildRun] = []
        theirs: list[ChildRun] = []
        ours_extra: dict[str, Value] = {}
        theirs_extra: dict[str, Value] = {}
        for _ in range(max(1, args.repeat)):  # alternating, so both see the same machine
            if not args.no_baseline:
                run_, theirs_extra = _baseline(corpus, size, prefix)
                theirs.append(run_)
            run_, ours_extra = _paperboy(corpus, size, args.profile, prefix)
            ours.append(run_)
        paperboy = _load_row(f"paperboy {size:,}{where}" + (" (py-spy)" if args.profile else ""), size, ours,
                             ours_extra)
        if theirs:
            ratios = [t.seconds / o.seconds for o, t in zip(ours, theirs, strict=True)]
            paperboy.values["vs baseline"] = spread(ratios)
            paperboy.values["CPU vs baseline"] = round(
                statistics.median(o.cpu_seconds for o in ours) / statistics.median(t.cpu_seconds for t in theirs), 2)
            rows.append(_load_row(f"sqlite3 baseline {size:,}{where}", size, theirs, theirs_extra))
        paperboy.values.update(machine.values(sum(r.cpu_seconds for r in ours + theirs)))
        rows.append(paperboy)
    if not args.no_sample:
        rows.extend(_sample_rows(args.repeat))
    return rows
