"""`paperboy ingest` given hostile or broken input (issue #12): never an internal error, each
input on its own, every cut and skip reported with the file, item or line and field."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.ingest.formats import bounds
from bot.samples import SAMPLE_DATE

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
API = FIXTURES / "hf-daily-papers-api-sample.json"


def run(db: Path, *argv: str) -> int:
    return main(["--db", str(db), *argv])


def api_item(**paper: Any) -> dict[str, Any]:
    """One Hugging Face API entry (the first of the fixture), with `paper` fields replaced."""
    item: dict[str, Any] = json.loads(API.read_text())[0]
    comments = paper.pop("numComments", None)
    if comments is not None:
        item["numComments"] = comments
    item["paper"].update(paper)
    return item


def stored(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "p.db"


def test_a_1mb_abstract_of_one_word_is_cut_and_reported(db: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "hostile.json"
    source.write_text(json.dumps([api_item(summary="flash " * 200_000, title="T" * 100_000)]))
    assert run(db, "ingest", str(source), "--date", "2025-09-09") == 0
    out = capsys.readouterr().out
    assert f"note: {source}, item 1 (arXiv 2306.07629): abstract cut from 1,199,999 to " in out
    assert f"note: {source}, item 1 (arXiv 2306.07629): title cut from 100,000 to " in out
    [(abstract, title)] = stored(db, "SELECT length(abstract), length(title) FROM papers")
    assert abstract <= bounds.ABSTRACT_CHARS and title <= bounds.TITLE_CHARS


@pytest.mark.parametrize("value", [10**30, -(10**30), -1, 1.5, "NaN", None, 2**63])
def test_out_of_range_counts_in_the_api_format_are_clamped_or_dropped(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], value: Any) -> None:
    source = tmp_path / "api.json"
    raw = json.dumps([api_item(upvotes=value, numComments=value)]).replace('"NaN"', "NaN")
    source.write_text(raw)
    assert run(db, "ingest", str(source), "--date", "2025-09-09") == 0
    captured = capsys.readouterr()
    assert "internal error" not in captured.err and "Traceback" not in captured.err
    [(upvotes, comments)] = stored(db, "SELECT upvotes, comments FROM digest_entries")
    for count in (upvotes, comments):
        assert count is None or 0 <= count <= bounds.MAX_COUNT
    if isinstance(value, int) and not 0 <= value <= bounds.MAX_COUNT:
        assert "field" not in captured.out and "upvotes: " in captured.out and "comments: " in captured.out


def test_out_of_range_numbers_in_an_export_are_clamped_and_reported(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = {"paperboy_export": 1, "arxiv_id": "2401.00001", "title": "A paper", "abstract": "x",
            "listings": [{"source": "hf-daily", "date": "2025-09-09", "format": "hf-api",
                          "position": 10**30, "upvotes": -5, "comments": 10**19}]}
    source = tmp_path / "export.jsonl"
    source.write_text(json.dumps(line) + "\n")
    assert run(db, "ingest", str(source)) == 0
    out = capsys.readouterr().out
    assert "paper (arXiv 2401.00001): position: a 31-digit number, outside 0 to 2,147,483,647" in out
    assert "upvotes: -5, outside" in out and "comments: 10000000000000000000, outside" in out
    assert stored(db, "SELECT position, upvotes, comments FROM digest_entries") == [
        (bounds.MAX_POSITION, 0, bounds.MAX_COUNT)]


def test_each_input_is_loaded_on_its_own_and_each_failure_reported(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    utf32 = tmp_path / "u32.txt"
    utf32.write_bytes("Daily Papers".encode("utf-32"))
    status = run(db, "ingest", str(tmp_path), str(fifo), "/dev/null", str(utf32),
                 str(FIXTURES / "arxiv-rss-sample.xml"), str(tmp_path / "missing.xml"))
    captured = capsys.readouterr()
    assert status == 1
    assert f"paperboy: {tmp_path}: not a regular file but a directory" in captured.err
    assert f"paperboy: {fifo}: not a regular file but a FIFO (named pipe)" in captured.err
    assert "paperboy: /dev/null: not a regular file but a device" in captured.err
    assert f"paperboy: {utf32}: UTF-32 text: save the digest as UTF-8" in captured.err
    assert f"paperboy: {tmp_path / 'missing.xml'}: no such file" in captured.err
    assert "arxiv-rss" in captured.out  # the good input after the bad ones loaded


@pytest.mark.parametrize(("date", "message"), [
    ("0001-01-01", "the date 0001-01-01 is before arXiv existed (1991)"),
    ("1991-07-31", "the date 1991-07-31 is before arXiv existed (1991)"),
    ("9999-12-31", "the date 9999-12-31 is more than 2 days in the future"),
])
def test_digest_dates_before_arxiv_or_in_the_future_are_refused(
        db: Path, capsys: pytest.CaptureFixture[str], date: str, message: str) -> None:
    assert run(db, "ingest", str(API), "--date", date) == 1
    err = capsys.readouterr().err
    assert f"paperboy: {API}, field 'date': {message}" in err
    assert stored(db, "SELECT count(*) FROM digests") == [(0,)]


def test_the_sample_keeps_its_year_when_loaded_with_another_file(
        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "ingest", str(FIXTURES / "arxiv-rss-sample.xml"), "--sample") == 0
    assert (SAMPLE_DATE.isoformat(),) in stored(db, "SELECT date FROM digests WHERE source = 'hf-daily'")


def snapshot_lines(count: int) -> Iterator[str]:
    for i in range(1, count + 1):
        yield json.dumps({"id": f"0704.{i:04d}", "title": f"Paper {i}", "abstract": "An abstract.",
                          "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}]})


def test_a_bad_line_in_a_streamed_file_is_skipped_and_reported(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = list(snapshot_lines(4))
    source = tmp_path / "snapshot.json"
    source.write_text("\n".join([*good[:2], '{"id": "0704.9999", "title": 3}', *good[2:]]) + "\n")
    assert run(db, "ingest", str(source)) == 1
    captured = capsys.readouterr()
    assert f"paperboy: {source}: 1 bad lines skipped (noted below); the rest is stored" in captured.err
    assert f"note: {source}, line 3, field 'title': expected a string, found a number (line skipped)" in captured.out
    assert stored(db, "SELECT count(*) FROM papers") == [(4,)]


@pytest.mark.parametrize("argv", [("--until", "9999-12-31"), ("--since", "2025-01-01", "--until", "9999-12-31"),
                                  ("--date", "0001-01-01"), ("--since", "1990-12-31")])
def test_fetch_refuses_days_no_digest_can_have(db: Path, capsys: pytest.CaptureFixture[str],
                                               argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit) as info:
        run(db, "fetch", *argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and ("before arXiv existed" in err or "days in the future" in err)


def test_subscribe_previews_safely_after_a_digest_dated_at_the_calendars_start(
        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(db, "ingest", "--sample") == 0
    with closing(sqlite3.connect(db)) as conn, conn:  # stored by an older Paperboy, before dates were checked
        conn.execute("UPDATE digests SET date = '0001-01-01'")
    capsys.readouterr()
    assert run(db, "subscribe", "console:alice", "diffusion") == 0
    captured = capsys.readouterr()
    assert "diffusion" in captured.out and "internal error" not in captured.err


def test_the_console_clock_refuses_times_beyond_the_calendar(tmp_path: Path) -> None:
    script = "/tick 9999-12-31T23:00-05:00\n/tick 3000-01-01T00:00Z\n/tick 0001-01-01T00:00+05:00\n/tick +1d\n"
    done = subprocess.run([sys.executable, "-m", "bot", "--db", str(tmp_path / "p.db"), "console"], input=script,
                          capture_output=True, text=True, timeout=240, cwd=ROOT, check=False,
                          env={**os.environ, "PAPERBOY_LOG_FILE": str(tmp_path / "log"), "HOME": str(tmp_path)})
    assert done.returncode == 0 and "internal error" not in done.stdout + done.stderr, done.stderr
    assert done.stdout.count("The simulated clock goes up to 2999-12-31 23:59 UTC") == 2
    assert "The simulated clock only moves forward." in done.stdout  # the calendar's start, not its end
    assert "Simulated time:" in done.stdout  # and it still moves within the calendar


def test_an_unexpected_failure_on_one_input_does_not_stop_the_next(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.ingest.formats import hf_api

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("a parser bug")

    monkeypatch.setattr(hf_api, "parse", broken)
    status = run(db, "ingest", str(API), str(FIXTURES / "arxiv-rss-sample.xml"))
    captured = capsys.readouterr()
    assert status == 1
    assert f"paperboy: {API}: could not be loaded: an unexpected ValueError (details in the log)" in captured.err
    assert "internal error" not in captured.err and "arxiv-rss" in captured.out
