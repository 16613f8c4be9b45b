"""`paperboy ingest -` reads standard input; a long load reports papers/s, elapsed time, ETA and
its end phase, redrawn on a terminal and as a periodic plain line without one."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import progress
from bot.cli.progress import LoadProgress

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "tests/fixtures/hf-daily-papers-page-sep-9.txt"


def test_ingest_dash_reads_a_digest_from_standard_input(tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    done = subprocess.run([sys.executable, "-m", "bot", "--db", db, "ingest", "-", "--date", "2025-09-09"],
                          cwd=ROOT, input=SAMPLE.read_bytes(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("<stdin>: hf-page hf-daily 2025-09-09: 144 papers, 144 new")
    bad = subprocess.run([sys.executable, "-m", "bot", "--db", db, "ingest", "-"], cwd=ROOT, input=b"nothing\n",
                         capture_output=True, check=False)
    assert bad.returncode == 1 and bad.stderr.decode().startswith("paperboy: <stdin>: not a digest")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    return clock


def test_without_a_terminal_a_line_every_few_seconds(fake_clock: FakeClock) -> None:
    out = io.StringIO()
    bar = LoadProgress("snap.jsonl", out=out, terminal=False)
    fake_clock.now += 1
    bar(10_000_000, 40_000_000)
    assert out.getvalue() == ""  # a short load prints nothing
    bar.loaded(12_000)
    fake_clock.now += progress.PERIOD
    bar(20_000_000, 40_000_000)
    assert out.getvalue().splitlines() == [
        "snap.jsonl:  50.0% of 40 MB, 12,000 papers (2,000/s), elapsed 0:06, ETA 0:06"]
    bar.phase("rebuilding the title index")
    assert out.getvalue().splitlines()[-1] == (
        "snap.jsonl: 12,000 papers loaded in 0:06; rebuilding the title index...")


def test_on_a_terminal_the_bar_is_redrawn_in_place(fake_clock: FakeClock) -> None:
    out = io.StringIO()
    bar = LoadProgress("-", out=out, terminal=True)
    fake_clock.now += 1
    bar(3_000_000, 0)  # standard input: size unknown, no ETA
    assert out.getvalue() == "\r\033[K-: 3.0 MB, 0 papers (0/s), elapsed 0:01"
    bar.finish()
    assert out.getvalue().endswith("\r\033[K")
