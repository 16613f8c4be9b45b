"""The title index snapshot: start-up from it plus replay equals a full build; a damaged, foreign
or missing snapshot falls back to a build (and writes a good one)."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.fuzzy import noisy_queries
from bot.lookup import sync as sync_module
from bot.lookup.index import ImageError, TitleIndex
from bot.lookup.snapshot import load_snapshot
from bot.lookup.sync import TitleIndexSync
from storage.db import Database
from storage.loader import Loader
from storage.lookup import TitleRow
from storage.records import PaperRecord, ParsedDigest
from tests.bot.lookup.test_index import sample_titles
from tests.storage.raw import execute

DAY = dt.date(2025, 9, 9)


def answers(index: TitleIndex) -> list[list[tuple[int, float]]]:
    """Every noisy sample query's top 5, with scores: what two indexes must agree on."""
    return [[(m.paper_id, m.score) for m in index.search(q.query, 5)] for q in noisy_queries(sample_titles())]


def firsts(index: TitleIndex) -> list[int | None]:
    return [found[0].paper_id if (found := index.search(q.query, 1)) else None
            for q in noisy_queries(sample_titles())]


async def full_build(db: Database) -> TitleIndex:
    sync = TitleIndexSync(db)
    await sync.build()
    return sync.index


async def load(db: Database, day: dt.date, titles: list[str]) -> None:
    await Loader(db).load(ParsedDigest("hf-daily", day, "hf-page", [PaperRecord(t, "") for t in titles]))


@pytest.mark.both_backends
async def test_stale_snapshot_plus_replay_answers_like_a_full_build(db: Database) -> None:
    titles = sample_titles()
    await load(db, DAY, titles[:100])
    live = TitleIndexSync(db)  # a process that stays up and polls
    first = await live.start()
    assert not first.from_snapshot and first.saved_bytes > 0
    # After the snapshot: new papers, a retitled one, a deleted one.
    await load(db, DAY + dt.timedelta(days=1), titles[100:])
    await execute(db, "UPDATE papers SET title = ? WHERE title = ?", "SliceGPT: A Retitled Paper", titles[3])
    await execute(db, "DELETE FROM papers WHERE title = ?", titles[7])

    sync = TitleIndexSync(db)
    report = await sync.start(save=False)
    assert report.from_snapshot and report.replayed == len(titles) - 100 + 2
    assert len(sync.index) == len(titles) - 1
    await live.refresh()
    assert answers(sync.index) == answers(live.index)
    # A retitled or deleted paper's old words stay in the postings until a build, which moves
    # word weights a little; the papers found first are the same.
    assert firsts(sync.index) == firsts(await full_build(db))
    assert sync.index.search("SliceGPT retitled paper", 1)[0].title == "SliceGPT: A Retitled Paper"


@pytest.mark.both_backends
async def test_fresh_snapshot_replays_nothing_and_is_rewritten_once_enough_changed(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await load(db, DAY, sample_titles()[:50])
    await TitleIndexSync(db).start()
    again = await TitleIndexSync(db).start()
    assert again.from_snapshot and again.replayed == 0 and again.saved_bytes == 0

    monkeypatch.setattr(sync_module, "SNAPSHOT_AFTER", 10)
    sync = TitleIndexSync(db)
    await sync.start()
    await load(db, DAY + dt.timedelta(days=1), sample_titles()[50:70])
    await sync.refresh()
    assert sync.snapshot_due()
    assert await sync.save() > 0 and not sync.snapshot_due()
    stored = await load_snapshot(db)
    assert stored is not None and stored.image.last_id == sync.index.last_id


@pytest.mark.parametrize("damage", [
    "UPDATE title_snapshot SET data = zeroblob(length(data)) WHERE part = 'postings'",
    "UPDATE title_snapshot SET data = substr(data, 1, length(data) - 4) WHERE part = 'start'",
    "DELETE FROM title_snapshot WHERE part = 'terms'",
    "UPDATE title_snapshot SET data = CAST('{not json' AS BLOB) WHERE part = 'meta'",
    "UPDATE title_snapshot SET data = CAST('{\"format\": 999}' AS BLOB) WHERE part = 'meta'",
    "UPDATE title_snapshot SET chunk = 5 WHERE part = 'titles'",
    "UPDATE title_snapshot SET data = 'text, not bytes' WHERE part = 'sizes'",
    "DELETE FROM title_changes",  # the snapshot claims a change-log position the log never reached
    "DELETE FROM title_snapshot",
])
async def test_damaged_or_missing_snapshot_falls_back_to_a_build(db: Database, damage: str) -> None:
    await load(db, DAY, sample_titles())
    await db.execute("DELETE FROM papers WHERE title = ?", (sample_titles()[0],))  # a change-log row
    await TitleIndexSync(db).start()
    await db.execute(damage)

    sync = TitleIndexSync(db)
    report = await sync.start()
    assert not report.from_snapshot and report.saved_bytes > 0
    assert answers(sync.index) == answers(await full_build(db))
    assert (await TitleIndexSync(db).start()).from_snapshot  # and the snapshot written is good


def test_image_round_trip_keeps_every_answer_including_retitled_and_removed() -> None:
    index = TitleIndex()
    index.add(TitleRow(i + 1, t, DAY) for i, t in enumerate(sample_titles()))
    index.add([TitleRow(5, "Completely Different Words", DAY)])
    index.remove([9])
    copy = TitleIndex.from_image(index.image())
    assert (len(copy), copy.last_id) == (len(index), index.last_id)
    assert answers(copy) == answers(index)
    assert copy.search("completely different words", 1)[0].paper_id == 5


def test_empty_index_round_trips_and_foreign_layout_is_refused() -> None:
    image = TitleIndex().image()
    assert len(TitleIndex.from_image(image)) == 0
    foreign = type(image)(image.last_id, image.count, image.parts, image.checks, "big:I8:Q8:i8")
    with pytest.raises(ImageError, match="layout"):
        TitleIndex.from_image(foreign)


async def test_a_snapshot_that_cannot_be_written_does_not_stop_start_up(db: Database) -> None:
    await load(db, DAY, sample_titles()[:10])
    await db.conn.execute("PRAGMA query_only = ON")  # as on a read-only database file
    sync = TitleIndexSync(db)
    report = await sync.start()
    assert not report.from_snapshot and report.saved_bytes == 0
    assert sync.index.search(sample_titles()[3], 1)[0].title == sample_titles()[3]
