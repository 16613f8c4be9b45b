"""`python -m bench startup`: how long the `paperboy` command takes as a whole process, beside
bare Python start-up measured in the same run (issue #12's target: `--help` at most 150 ms above
`python -c pass`; `search` and `paper` on the sample archive at most 300 ms).

Each command runs `--repeat` times in turn (pass, --help, search, paper, pass, ...), so a drift in
the machine's speed touches every row alike; the table gives the median and the slowest run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.common import PYTHON, SAMPLE_DATE, SAMPLE_DIGEST, Row, check, run_child

NAME = "startup"
DESCRIPTION = "whole-process time of paperboy --help, search and paper vs bare `python -c pass`"

TARGET_ABOVE_PYTHON_MS = {"--help": 150.0}
TARGET_TOTAL_MS = {"search": 300.0, "paper": 300.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command (default: %(default)s)")
    parser.set_defaults(sizes=[0])


def _commands(db: Path) -> dict[str, list[str]]:
    paperboy = [PYTHON, "-m", "bot", "--db", str(db)]
    return {
        "python -c pass": [PYTHON, "-c", "pass"],
        "--help": [PYTHON, "-m", "bot", "--help"],
        "search": [*paperboy, "search", "diffusion models"],
        "paper": [*paperboy, "paper", "flash att"],
    }


def run(args: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="paperboy-startup-") as folder:
        db = Path(folder) / "sample.db"
        check(run_child([PYTHON, "-m", "bot", "--db", str(db), "ingest", str(SAMPLE_DIGEST),
                         "--date", SAMPLE_DATE]), "loading the sample digest")
        commands = _commands(db)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for name, argv in commands.items():  # one warm-up each: the page cache, .pyc files
            check(run_child(argv), name)
        for _ in range(args.repeat):
            for name, argv in commands.items():
                times[name].append(check(run_child(argv), name).seconds * 1000)
    python = statistics.median(times["python -c pass"])
    rows = []
    for name, runs in times.items():
        median = statistics.median(runs)
        target = (f"<= {TARGET_ABOVE_PYTHON_MS[name]:.0f} ms above python" if name in TARGET_ABOVE_PYTHON_MS
                  else f"<= {TARGET_TOTAL_MS[name]:.0f} ms" if name in TARGET_TOTAL_MS else "")
        met = (median - python <= TARGET_ABOVE_PYTHON_MS[name] if name in TARGET_ABOVE_PYTHON_MS
               else median <= TARGET_TOTAL_MS[name] if name in TARGET_TOTAL_MS else None)
        rows.append(Row(NAME, name, {"median ms": round(median, 1), "max ms": round(max(runs), 1),
                                     "above python ms": round(median - python, 1), "target": target,
                                     "met": met}))
    return rows
