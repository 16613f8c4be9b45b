"""Topic matching agrees with search: the digest evaluator against FTS5 on the same papers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest.formats import ParseContext, open_input, parse
from bot.subscriptions.matching import DigestIndex, match, match_one
from bot.subscriptions.topics import SubscriptionError, parse_topic
from storage import subscriptions as sub_repo
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.records import ParsedDigest
from storage.search.fts import matching_ids
from storage.subscriptions import PaperText
from tests.bot.subscriptions.helpers import PAPERS, load

QUERIES = [
    "speculative decoding", '"speculative decoding"', "decoding -speculative", "title:decoding",
    "kv cache -vision", "gaussian OR nerf", "splat*", '"kv cach" *', "compress*", "Decodes", "models",
    'title:"kv cache"', '"language models"', "transformers OR splatting -wild", "3d", "zzz",
]


@pytest.mark.parametrize("text", QUERIES)
async def test_each_topic_matches_what_fts5_matches(db: Database, text: str) -> None:
    result = await load(db)
    topic = parse_topic(text)
    papers = await sub_repo.read_papers(db, result.paper_ids)
    mine = set(match_one(DigestIndex.build(papers), topic.key))
    assert mine == await matching_ids(db, topic.query, result.paper_ids)


async def test_stemming_and_matched_terms() -> None:
    index = DigestIndex.build([PaperText(1, "Speculative decoders", "Faster inference."),
                               PaperText(2, "Decoding", "Speculation about the KV-cache.")])
    assert match_one(index, parse_topic("speculate decode").key) == {1: ("decode", "speculate"),
                                                                      2: ("decode", "speculate")}
    assert match_one(index, parse_topic('"kv cache"').key) == {2: ('"kv cache"',)}
    assert set(match(index, [parse_topic("kv").key, parse_topic("zzz").key])) == {parse_topic("kv").key}


async def test_a_phrase_does_not_span_title_and_abstract() -> None:
    index = DigestIndex.build([PaperText(1, "About kv", "cache eviction")])
    assert match_one(index, parse_topic('"kv cache"').key) == {}
    assert match_one(index, parse_topic("kv cache").key) == {1: ("cache", "kv")}


SAMPLE = Path(__file__).parents[2] / "fixtures" / "hf-daily-papers-page-sep-9.txt"


def _sample_batches() -> list[ParsedDigest]:
    with open_input(SAMPLE) as stream:
        _, batches = parse(stream, ParseContext(name=str(SAMPLE), today=dt.date(2025, 9, 10)))
        return list(batches)


@pytest.fixture(scope="module")
def sample_words() -> list[str]:
    batches = _sample_batches()
    words = [w for b in batches for p in b.papers for w in (p.title + " " + p.abstract).split()]
    return sorted(set(words))[:3000:3]


def _topic(words: list[str], shape: int) -> str:
    if shape == 0:
        return '"' + " ".join(words) + '"'
    if shape == 1:
        return " OR ".join(words)
    if shape == 2:
        return words[0] + " -" + " -".join(words[1:]) if len(words) > 1 else words[0]
    if shape == 3:
        return "title:" + " ".join(words)
    if shape == 4:
        return words[0][:4] + "* " + " ".join(words[1:])
    return " ".join(words)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_random_topics_over_a_real_digest_agree_with_fts5(tmp_path: Path, sample_words: list[str],
                                                                 data: st.DataObject) -> None:
    db_path = tmp_path / "hyp.db"
    db = await open_database(db_path)
    try:
        ids = (await db.fetchone("SELECT COUNT(*) FROM papers"))[0]
        if not ids:
            await Loader(db).load_many(_sample_batches())
        paper_ids = [r[0] for r in await db.fetchall("SELECT id FROM papers ORDER BY id")]
        words = data.draw(st.lists(st.sampled_from(sample_words), min_size=1, max_size=3))
        text = _topic(words, data.draw(st.integers(0, 5)))
        try:
            topic = parse_topic(text)
        except SubscriptionError:
            return
        index = DigestIndex.build(await sub_repo.read_papers(db, paper_ids))
        mine = set(match_one(index, topic.key))
        assert mine == await matching_ids(db, topic.query, paper_ids), text
    finally:
        await db.close()


def test_the_test_papers_are_varied() -> None:
    assert len({p.arxiv_id for p in PAPERS}) == len(PAPERS)
