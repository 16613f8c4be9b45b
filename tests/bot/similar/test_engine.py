"""Similar papers and recommendations on a known small corpus, on both backends: neighbours,
kept current as digests load (no rebuild), recommendations with their words."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.similar import SimilarIndex, SimilarService
from bot.similar.service import MIN_PER_TERM, PER_TERM, depths
from bot.similar.text import terms, words
from storage import library, similar, votes
from storage import papers as paper_repo
from storage.db import Database
from storage.loader import Loader
from storage.records import StoredPaper
from storage.similar import pack, unpack
from tests.bot.similar.corpus import LATE, TOPICS, first_digest, second_digest
from tests.storage import raw

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2025, 9, 9, 12, 0, tzinfo=dt.UTC)


def loader(db: Database) -> Loader:
    return Loader(db, after_commit=[SimilarIndex(db).after_commit])


async def by_title(db: Database) -> dict[str, StoredPaper]:
    rows = await raw.rows(db, "SELECT id FROM papers ORDER BY id")
    return {p.title: p for p in await paper_repo.get_papers(db, [int(r[0]) for r in rows])}


def topic_of(title: str) -> str:
    return next((t for t, items in TOPICS.items() if title in [i[0] for i in items]), "diffusion")


async def test_the_nearest_neighbours_are_the_same_topic(db: Database) -> None:
    await loader(db).load(first_digest())
    papers = await by_title(db)
    assert (await similar.size(db)).vectors == 9
    service = SimilarService(db)
    for title, paper in papers.items():
        found = await service.neighbours(paper, 2)
        assert [topic_of(m.paper.title) for m in found] == [topic_of(title)] * 2, title
        assert all(0 < m.score <= 1 for m in found) and found[0].score >= found[1].score
        assert paper.id not in [m.paper.id for m in found]
        assert found[0].words  # what they share
    diffusion = papers[TOPICS["diffusion"][0][0]]
    found = await service.neighbours(diffusion, 10)
    assert {w for m in found[:2] for w in m.words} & {"diffusion", "denoising diffusion", "image synthesis"}


async def test_a_second_digest_is_indexed_without_weighing_the_first_again(db: Database) -> None:
    await loader(db).load(first_digest())
    before = await raw.rows(db, "SELECT paper_id, docs FROM similar_vectors ORDER BY paper_id")
    await loader(db).load(second_digest())
    after = await raw.rows(db, "SELECT paper_id, docs FROM similar_vectors ORDER BY paper_id")
    assert [tuple(r) for r in after[:9]] == [tuple(r) for r in before]  # untouched
    assert len(after) == 10 and int(after[9][1]) == 10  # weighed against 10 papers
    papers = await by_title(db)
    late = papers[LATE[0]]
    found = await SimilarService(db).neighbours(late, 3)
    assert [topic_of(m.paper.title) for m in found] == ["diffusion"] * 3
    # ... and the older papers find it.
    older = await SimilarService(db).neighbours(papers[TOPICS["diffusion"][1][0]], 3)
    assert late.id in [m.paper.id for m in older]
    # The same digest again changes nothing.
    await loader(db).load(second_digest())
    assert len(await raw.rows(db, "SELECT paper_id FROM similar_vectors")) == 10


async def test_a_rebuild_agrees_and_changed_text_is_weighed_again(db: Database) -> None:
    await Loader(db).load(first_digest())  # no listener: nothing indexed
    assert (await similar.size(db)).vectors == 0
    papers = await by_title(db)
    paper = papers[TOPICS["protein"][0][0]]
    # Not indexed yet: its vector is weighed on the fly, its neighbours need the index.
    assert await SimilarService(db).neighbours(paper) == []
    report = await SimilarIndex(db).rebuild()
    assert report.papers == 9
    found = await SimilarService(db).neighbours(paper, 2)
    assert [topic_of(m.paper.title) for m in found] == ["protein"] * 2
    await raw.execute(db, "UPDATE papers SET abstract = ? WHERE id = ?",
                      "Reinforcement learning policy for legged robots in simulation with reward shaping.", paper.id)
    assert (await SimilarIndex(db).index([p.id for p in papers.values()])).papers == 1
    found = await SimilarService(db).neighbours(paper, 2)
    assert topic_of(found[0].paper.title) == "robots"


async def test_deleted_papers_drop_out_of_the_neighbours(db: Database) -> None:
    await loader(db).load(first_digest())
    papers = await by_title(db)
    gone = papers[TOPICS["robots"][1][0]]
    await raw.execute(db, "DELETE FROM digest_entries WHERE paper_id = ?", gone.id)
    await raw.execute(db, "DELETE FROM papers WHERE id = ?", gone.id)
    found = await SimilarService(db).neighbours(papers[TOPICS["robots"][0][0]], 10)
    assert gone.id not in [m.paper.id for m in found]
    assert topic_of(found[0].paper.title) == "robots"


async def test_recommendations_rank_recent_papers_by_what_a_member_saved_and_voted(db: Database) -> None:
    await loader(db).load(first_digest(dt.date(2025, 8, 1)))  # old: out of a 7-day window
    await loader(db).load(second_digest(dt.date(2025, 9, 8)))
    papers = await by_title(db)
    service = SimilarService(db)
    empty = await service.recommend("discord:1", today=T0.date())
    assert empty.matches == [] and empty.seeds == 0
    await library.save(db, "discord:1", papers[TOPICS["diffusion"][0][0]].id, now=T0)
    await votes.cast(db, "discord:9", "discord:1", papers[TOPICS["diffusion"][2][0]].id, now=T0)
    got = await service.recommend("discord:1", today=T0.date(), days=7)
    assert got.seeds == 2 and got.candidates == 1
    assert [m.paper.title for m in got.matches] == [LATE[0]]
    assert set(got.matches[0].words) & {"diffusion", "latent diffusion", "image synthesis", "denoising diffusion"}
    # A wider window ranks the older papers too, the member's own left out, diffusion first.
    wide = await service.recommend("discord:1", today=T0.date(), days=60, limit=3)
    assert len(wide.matches) == 3
    assert [topic_of(m.paper.title) for m in wide.matches[:2]] == ["diffusion", "diffusion"]
    assert not {m.paper.id for m in wide.matches} & set(await service.seeds("discord:1"))
    # Another member with other tastes gets other papers.
    await library.save(db, "discord:2", papers[TOPICS["protein"][0][0]].id, now=T0)
    theirs = await service.recommend("discord:2", today=T0.date(), days=60, limit=2)
    assert [topic_of(m.paper.title) for m in theirs.matches] == ["protein", "protein"]


def test_terms_are_words_and_bigrams_without_stop_words() -> None:
    assert words("The Résumé of a Model, by GPT-4o!") == ["resume", "model", "gpt"]
    got = terms("Learning of Representations", "Deep nets")
    assert got["learning representations"] == 1 and got["learning"] == 1 and "of" not in got
    assert "representations deep" not in got  # the title and the abstract are apart
    assert unpack(pack([(1, 10_000), (4_000_000_000, 7)])) == [(1, 10_000), (4_000_000_000, 7)]


async def test_a_query_reads_its_light_terms_deeper_and_each_term_as_deep_as_told(db: Database) -> None:
    await loader(db).load(first_digest())
    paper = (await by_title(db))[TOPICS["robots"][0][0]]
    query = (await similar.vectors(db, [paper.id]))[paper.id]
    caps = depths(query)
    assert min(caps) >= MIN_PER_TERM and sum(caps) >= PER_TERM * len(query) - len(query)
    heaviest, lightest = max(query, key=lambda x: x[1]), min(query, key=lambda x: x[1])
    assert caps[query.index(lightest)] >= caps[query.index(heaviest)]
    assert await similar.candidates(db, query, per_term=[0] * len(query), limit=10) == []
    one = await similar.candidates(db, query, per_term=[1] + [0] * (len(query) - 1), limit=10, exclude=paper.id)
    assert len(one) <= 1
    assert len(await similar.candidates(db, query, per_term=caps, limit=10, exclude=paper.id)) >= 2
