"""A large `paperboy ingest` leaves the title look-up's snapshot current, so the first
`paperboy paper` afterwards starts from it instead of building the index from every title."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.lookup import sync as title_sync
from bot.lookup.snapshot import load_snapshot
from storage.backends import open_database


def _snapshot_line(n: int) -> str:
    return json.dumps({"id": f"2501.{n:05d}", "title": f"Paper number {n} on sparse widgets",
                       "abstract": "An abstract.", "authors": "A. Author",
                       "versions": [{"version": "v1", "created": "Mon, 6 Jan 2025 10:00:00 GMT"}],
                       "update_date": "2025-01-06", "categories": "cs.LG"})


async def _snapshot_count(db_path: Path) -> int | None:
    async with await open_database(db_path) as db:
        snapshot = await load_snapshot(db)
        return None if snapshot is None else snapshot.image.count


@pytest.mark.parametrize("papers, expected", [(30, 30), (5, None)])
def test_a_large_ingest_saves_the_title_snapshot_a_small_one_does_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        papers: int, expected: int | None) -> None:
    monkeypatch.setattr(title_sync, "SNAPSHOT_AFTER", 20)
    source = tmp_path / "snapshot.jsonl"
    source.write_text("\n".join(_snapshot_line(n) for n in range(1, papers + 1)) + "\n", encoding="utf-8")
    db = tmp_path / "paperboy.db"
    assert main(["--db", str(db), "ingest", str(source)]) == 0, capsys.readouterr().err
    assert asyncio.run(_snapshot_count(db)) == expected


def test_the_first_look_up_after_a_large_ingest_starts_from_the_snapshot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(title_sync, "SNAPSHOT_AFTER", 20)
    source = tmp_path / "snapshot.jsonl"
    source.write_text("\n".join(_snapshot_line(n) for n in range(1, 41)) + "\n", encoding="utf-8")
    db = tmp_path / "paperboy.db"
    assert main(["--db", str(db), "ingest", str(source)]) == 0
    built: list[int] = []
    real_start = title_sync.TitleIndexSync.start

    async def spy(self: title_sync.TitleIndexSync, *, save: bool = True) -> title_sync.StartReport:
        report = await real_start(self, save=save)
        built.append(int(report.from_snapshot))
        return report

    monkeypatch.setattr(title_sync.TitleIndexSync, "start", spy)
    capsys.readouterr()
    assert main(["--db", str(db), "paper", "paper number 17 sparse widgets"]) == 0
    assert "Paper number 17 on sparse widgets" in capsys.readouterr().out
    assert built == [1]
