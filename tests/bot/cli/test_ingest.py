"""`paperboy ingest` end to end in-process: reports, exit codes, and the bot's side effects."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def run(db: Path, *argv: str) -> int:
    return main(["--db", str(db), *argv])


def test_ingest_from_the_command_line_queues_subscribers_notifications(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    assert run(db, "subscribe", "console:alice", "quantization") == 0
    today = dt.date.today().isoformat()
    assert run(db, "ingest", str(FIXTURES / "hf-daily-papers-api-sample.json"), "--date", today, "--json") == 0
    capsys.readouterr()
    assert run(db, "deliveries", "--status", "pending", "--json") == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["user"] == "console:alice" and row["digest"] == today
    assert any("SqueezeLLM" in title for title in row["papers"])


def test_ingest_reports_each_input_and_fails_only_the_bad_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    status = run(db, "ingest", str(empty), str(FIXTURES / "arxiv-api-sample.xml"), "--json")
    out = capsys.readouterr()
    assert status == 1
    lines = [json.loads(line) for line in out.out.strip().splitlines()]
    assert lines[0]["file"] == str(empty) and "empty" in lines[0]["error"]
    assert lines[1]["format"] == "arxiv-atom" and lines[1]["papers"] == 3 and lines[1]["new"] == 3
    assert "Traceback" not in out.err
    # Loading the same file again changes nothing and says so.
    assert run(db, "ingest", str(FIXTURES / "arxiv-api-sample.xml")) == 0
    assert "unchanged (already stored)" in capsys.readouterr().out
