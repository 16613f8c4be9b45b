"""Issue 21 through the real `paperboy` command: hostile input that stalled it or lost data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[3]
# A bound for a whole child `paperboy` process: seconds when all is well, hours before the fix.
PROCESS_BOUND_SECONDS = 120


def run(db: Path, *argv: str) -> int:
    return main(["--db", str(db), *argv])


def paperboy(db: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`paperboy` as its own process (killed, failing the test, past the bound)."""
    return subprocess.run([sys.executable, "-m", "bot", "--db", str(db), *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=PROCESS_BOUND_SECONDS,
                          env={**os.environ, "PAPERBOY_LOG_FILE": str(db.parent / "paperboy.log"), **(env or {})})


def snapshot_line(arxiv_id: str, title: str, authors: str) -> str:
    return json.dumps({"id": arxiv_id, "title": title, "authors": authors, "abstract": "An abstract.",
                       "categories": "cs.LG",
                       "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
                       "update_date": "2024-01-02"})


def test_an_authors_field_of_thousands_of_spaces_loads_at_once(tmp_path: Path) -> None:
    snapshot = tmp_path / "arxiv-metadata-oai-snapshot.json"
    snapshot.write_text(snapshot_line("2401.00001", "Spaces", "A" + " " * 20_000 + "B") + "\n"
                        + snapshot_line("2401.00002", "Commas", "A" + " ," * 20_000 + " and B") + "\n")
    done = paperboy(tmp_path / "p.db", "ingest", str(snapshot), "--json")
    assert done.returncode == 0, done.stderr
    assert sum(json.loads(line)["papers"] for line in done.stdout.splitlines()) == 2


def test_papers_whose_titles_have_no_letters_or_digits_stay_distinct(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    titles = ["!!!", "???", "🚀🚀", "...", "— —"]
    export = tmp_path / "odd.jsonl"
    export.write_text("".join(json.dumps({
        "paperboy_export": 1, "arxiv_id": None, "title": title, "abstract": f"Paper number {i}.",
        "authors": [f"Author {i}"], "listings": [{"source": "odd", "date": "2025-09-09", "format": "hf-api",
                                                 "position": i}]}) + "\n" for i, title in enumerate(titles)))
    db = tmp_path / "p.db"
    assert run(db, "ingest", str(export)) == 0
    assert run(db, "ingest", str(export)) == 0  # again: the same papers, found, not added twice
    capsys.readouterr()
    assert run(db, "stats", "--json") == 0
    assert json.loads(capsys.readouterr().out)["papers"] == len(titles)
