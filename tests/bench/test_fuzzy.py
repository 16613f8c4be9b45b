"""bench/fuzzy: a fragment shared word for word by another title grows until it tells its paper apart;
the index's size, the papers stored under each title, a cleared snapshot rebuilt."""

from __future__ import annotations

import datetime as dt

from bench.fuzzy import NoisyQuery, clear_snapshot, distinct_fragments, index_bytes, paper_ids_for_titles
from bot.lookup.snapshot import load_snapshot
from bot.lookup.sync import TitleIndexSync
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest

TITLE = "Galactic: Scaling End-to-End Reinforcement Learning for Rearrangement at 100k Steps-Per-Second"


def test_shared_fragment_grows_right_then_left_and_a_distinct_one_stays() -> None:
    titles = [TITLE, "OtherName: Scaling End-to-End Reinforcement Learning for Rearrangement at Scale",
              "Unrelated Words Entirely"]
    ids = [1, 2, 3]
    queries = [NoisyQuery("fragment", "Scaling End-to-End Reinforcement Learning", TITLE),
               NoisyQuery("fragment", "Rearrangement at 100k", TITLE),
               NoisyQuery("typo", "Scaling End-to-End Reinforcement Learning", TITLE)]
    grown, as_cut = distinct_fragments(queries, titles, ids, {TITLE: {1}})
    assert [q.query for q in grown] == [
        "Scaling End-to-End Reinforcement Learning for Rearrangement at 100k",
        "Rearrangement at 100k",
        "Scaling End-to-End Reinforcement Learning",  # only fragments grow
    ]
    assert [(q.query, shared) for q, shared in as_cut] == [
        ("Scaling End-to-End Reinforcement Learning", True), ("Rearrangement at 100k", False)]


def test_fragment_that_only_the_whole_title_tells_apart_takes_the_name_too() -> None:
    titles = [TITLE, "Scaling End-to-End Reinforcement Learning for Rearrangement at 100k Steps-Per-Second"]
    grown, _ = distinct_fragments([NoisyQuery("fragment", "Reinforcement Learning for", TITLE)],
                                   titles, [1, 2], {TITLE: {1}})
    assert grown[0].query == TITLE


async def test_index_measured_titles_resolved_and_a_cleared_snapshot_rebuilt(db: Database) -> None:
    titles = [TITLE, "Unrelated Words Entirely", "Diffusion Models Beat GANs"]
    papers = [PaperRecord(t, "") for t in titles]
    await Loader(db).load(ParsedDigest("hf-daily", dt.date(2025, 9, 9), "hf-page", papers))
    sync = TitleIndexSync(db)
    await sync.start()
    assert index_bytes(sync.index) > sum(len(t) for t in titles)
    found = await paper_ids_for_titles(db, [TITLE.upper(), "Never Stored"])
    assert len(found[TITLE.upper()]) == 1 and found["Never Stored"] == set()
    await clear_snapshot(db)
    assert await load_snapshot(db) is None
    assert not (await TitleIndexSync(db).start()).from_snapshot
