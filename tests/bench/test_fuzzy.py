"""bench/fuzzy: a fragment shared word for word by another title grows until it tells its paper apart."""

from __future__ import annotations

from bench.fuzzy import NoisyQuery, distinct_fragments

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
