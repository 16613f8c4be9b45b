"""What every benchmark shares: result rows, tables, paths, and timing a child process.

A benchmark measures the real program where it can (the `paperboy` command in a subprocess),
so the figures include start-up, parsing and committing exactly as a user sees them. Each child
is reaped with `os.wait4`, which hands back that one child's resource usage: its peak RSS is
measured without polling and without mixing in other children.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# git-ignored: corpora, databases, profiles; PAPERBOY_BENCH_OUT lets several checkouts share one cache
OUT = Path(os.environ.get("PAPERBOY_BENCH_OUT") or REPO / "bench" / "out")
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE_DIGEST = FIXTURES / "hf-daily-papers-page-sep-9.txt"
SAMPLE_DATE = "2025-09-09"
PYTHON = sys.executable  # the venv's interpreter when run as `.venv/bin/python -m bench`

Value = int | float | str | bool | None


@dataclass(slots=True)
class Row:
    """One measured case: `values` become the table's columns (in first-seen order)."""

    bench: str
    case: str
    values: dict[str, Value] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class ChildRun:
    """A finished child process: wall time, peak resident memory, exit status and output."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system, the child's and its reaped children's (a worker process)


def run_child(argv: Sequence[str], *, cwd: Path = REPO, env: dict[str, str] | None = None) -> ChildRun:
    """Run `argv` to completion; time it end to end and read its own peak RSS from wait4."""
    out_path = OUT / f".child-{os.getpid()}.out"
    err_path = OUT / f".child-{os.getpid()}.err"
    OUT.mkdir(parents=True, exist_ok=True)
    # Output goes to files, not pipes: a chatty child can never block on a full pipe, and
    # the parent does no work while the child runs.
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    out_path.unlink()
    err_path.unlink()
    # ru_maxrss is in KiB on Linux.
    return ChildRun(seconds, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr,
                    usage.ru_utime + usage.ru_stime)


def sampled(argv: Sequence[str], out: Path) -> list[str]:
    """`argv` under the py-spy sampling profiler (every thread, raw collapsed stacks to `out`).

    A sampler rather than cProfile because the work is spread over threads (the parser's worker,
    aiosqlite's connection thread), which cProfile does not see.
    """
    spy = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or shutil.which("py-spy")
    if spy is None:
        raise BenchError("--profile needs py-spy (`.venv/bin/pip install py-spy`)")
    return [spy, "record", "--format", "raw", "--rate", "200", "--threads", "--nonblocking", "--output", str(out),
            "--", *argv]


def top_frames(collapsed: Path, count: int = 25) -> str:
    """The functions where most samples ended (own time), from py-spy's raw output."""
    own: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        leaf = stack.rsplit(";", 1)[-1]
        own[leaf] = own.get(leaf, 0) + int(n)
    ranked = sorted(own.items(), key=lambda kv: -kv[1])[:count]
    return "\n".join(f"{n / max(total, 1):6.1%}  {frame}" for frame, n in ranked)


def check(run: ChildRun, what: str) -> ChildRun:
    """Fail the benchmark loudly (with the child's last words) when a child failed."""
    if run.returncode != 0:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        raise BenchError(f"{what} exited with status {run.returncode}:\n{tail}")
    return run


class BenchError(Exception):
    """A benchmark could not run (a child failed, an input is missing); shown without traceback."""


def remove_database(path: Path) -> None:
    """Delete a SQLite file and its WAL/SHM companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def parse_sizes(text: str) -> list[int]:
    """'100000,1M,250k' -> [100000, 1000000, 250000]."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        scale = 1
        if part.endswith("k"):
            part, scale = part[:-1], 1000
        elif part.endswith("m"):
            part, scale = part[:-1], 1_000_000
        try:
            value = int(float(part) * scale)
        except ValueError:
            raise ValueError(f"not a size: {part!r} (expected e.g. 100000, 100k or 1M)") from None
        if value <= 0:
            raise ValueError(f"sizes must be positive, got {value}")
        sizes.append(value)
    return sizes


def _cell(value: Value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0 or abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}"
    return value


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table: one line per row, one column per value name."""
    columns: list[str] = []
    for row in rows:
        for key in row.values:
            if key not in columns:
                columns.append(key)
    header = ["case", *columns]
    body = [[row.case, *(_cell(row.values.get(c)) for c in columns)] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def rows_json(rows: Sequence[Row]) -> str:
    data: list[dict[str, Any]] = [{"bench": r.bench, "case": r.case, **r.values} for r in rows]
    return json.dumps(data, indent=2)


def spread(samples: Sequence[float]) -> str:
    """'median (min-max)' of repeated runs, for a table cell."""
    ordered = sorted(samples)
    mid = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1]
                                                               + ordered[len(ordered) // 2]) / 2
    return f"{_cell(mid)} ({_cell(ordered[0])}-{_cell(ordered[-1])})"


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of every CPU together, from /proc/stat; (0, 0) where it is missing."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass(slots=True)
class Machine:
    """How busy the machine was while a bench ran: the load average at the end, and whether a
    core was left over for others: the whole machine's busy CPU minus this process's own (its
    threads included), in cores, below 0.5 means the second core was free."""

    started: float = field(default_factory=time.perf_counter)
    cpu: float = field(default_factory=time.process_time)
    jiffies: tuple[int, int] = field(default_factory=_cpu_jiffies)

    def values(self, children_cpu: float = 0.0) -> dict[str, Value]:
        """`children_cpu`: CPU seconds of the bench's own child processes, which are not others'."""
        busy, total = _cpu_jiffies()
        cores = os.cpu_count() or 1
        wall = time.perf_counter() - self.started
        if total > self.jiffies[1] and wall > 0:
            machine = (busy - self.jiffies[0]) / (total - self.jiffies[1]) * cores
            own = time.process_time() - self.cpu + children_cpu
            others: float | None = max(machine - own / wall, 0.0)
        else:
            others = None
        return {"load avg": round(os.getloadavg()[0], 2), "others' cores": others,
                "2nd core free": None if others is None else others < 0.5}
