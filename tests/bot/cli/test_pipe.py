"""`paperboy … | head`: a reader that stops early ends the command quietly, as with any Unix tool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import corpus

ROOT = Path(__file__).resolve().parents[3]


def test_a_closed_standard_output_ends_the_command_quietly(tmp_path: Path) -> None:
    source = corpus.write_corpus(tmp_path / "s.jsonl", 3000, seed=2)  # ~1,000 digests: many lines
    command = [sys.executable, "-m", "bot", "--db", str(tmp_path / "p.db"), "ingest", str(source), "--json"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"{")
    process.stdout.close()  # what `head -1` does once it has its line
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 141
    assert "error" not in err and "Traceback" not in err, err
