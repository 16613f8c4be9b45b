"""Searching a real archive: matching, ranking, snippets, filters, paging, new digests, on both
backends (the FTS5 specifics, prefix expansion and the scratch index, on SQLite alone)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.db import Database
from storage.search import QueryError, fts, parse
from storage.search.fts import CursorError, SearchFilters, matching_ids, search, unmark
from tests.storage.search.archive import load, paper

pytestmark = pytest.mark.both_backends

D1, D2, D3 = dt.date(2025, 9, 8), dt.date(2025, 9, 9), dt.date(2025, 9, 10)


async def titles(db: Database, text: str, filters: SearchFilters | None = None, **kw: object) -> list[str]:
    page = await search(db, parse(text), filters, **kw)  # type: ignore[arg-type]
    return [h.title.text for h in page.hits]


@pytest.fixture
async def archive(db: Database) -> Database:
    await load(db, D1,
               paper("Diffusion Models for Video", "Video generation with latent diffusion models.", 1),
               paper("A Survey of Large Language Models", "We survey large language models.", 2),
               paper("Quantization of Transformers", "Post-training quantization for language models.", 3))
    await load(db, D2,
               paper("Agents that Plan", "Planning agents use a world model and a language model.", 4),
               paper("World Models", "Learning world models from video.", 5))
    await load(db, D3, paper("Sparse Attention", "Efficient attention for long contexts.", 6),
               source="arxiv-rss:cs.LG")
    return db


@pytest.mark.parametrize(("text", "expected"), [
    ("quantization", {"Quantization of Transformers"}),
    ("quantized", {"Quantization of Transformers"}),  # stemmed
    ("quant*", {"Quantization of Transformers"}),
    ('"world model"', {"Agents that Plan", "World Models"}),
    ('"model world"', set()),
    ("video -survey", {"Diffusion Models for Video", "World Models"}),
    ("video -title:diffusion", {"World Models"}),
    ("title:world", {"World Models"}),
    ("title:video", {"Diffusion Models for Video"}),
    ("attention OR agents", {"Sparse Attention", "Agents that Plan"}),
    ("language models survey", {"A Survey of Large Language Models"}),
    ("WORLD Models", {"Agents that Plan", "World Models"}),
    ("diffusion absent", set()),
])
async def test_query_language_matches(archive: Database, text: str, expected: set[str]) -> None:
    assert set(await titles(archive, text)) == expected


# Every hostile input gives results or a QueryError, never an sqlite3 error.
@pytest.mark.parametrize("text", [
    '"unbalanced', 'unbalanced"', '"', "OR", "OR OR", "a OR", "-", "- -", "AND", "NOT", "NEAR", "NEAR(",
    "NEAR(world model)", "*", "**", "^", "^world", "world^", "abstract:video", "title:", "title:*", "{title}:world",
    "world:", ":", "(", ")", "(world", "world)", "-world", '-"', "'", "''", "\\", "🙂", "🙂 world",
    "עולם מודל", "\u200fworld\u200f", "é", "x" * 6000, "world " * 1200, "a*", "wo*", "+world", "world AND",
    "NOT world", "world NOT", "\x00", "%", "_", "world*model", "col:val:x", "title:title:world", '"" world',
])
async def test_hostile_input_answers_or_explains(archive: Database, text: str) -> None:
    try:
        page = await search(archive, parse(text))
    except QueryError as exc:
        assert 0 < len(str(exc)) < 120
    else:
        assert page.count == len(page.hits)


async def test_a_title_match_beats_an_abstract_mention(db: Database) -> None:
    await load(db, D1, paper("Planning with Agents", "An abstract about nothing much at all.", 1),
               paper("Something Else Entirely", "We build agents for many tasks here.", 2))
    assert await titles(db, "agents") == ["Planning with Agents", "Something Else Entirely"]


async def test_a_newer_paper_wins_a_tie(db: Database) -> None:
    await load(db, D1, paper("Robust agents", "Plain text.", 1))
    await load(db, D3, paper("Robust agents again", "Plain text.", 2))
    await load(db, D2, paper("Robust agents twice", "Plain text.", 3))
    page = await search(db, parse("plain"))
    assert [h.arxiv_id for h in page.hits] == ["2509.00002", "2509.00003", "2509.00001"]
    assert page.hits[0].score > page.hits[1].score > page.hits[2].score


async def test_a_title_that_is_the_words_asked_for_beats_a_newer_longer_one(db: Database) -> None:
    await load(db, dt.date(2019, 1, 8), paper("Robust Agents for Small Models", n=1))
    await load(db, D2, paper("BARAT: Robust Agents for Small Models", n=2), paper("Small Robust Agents", n=3))
    assert await titles(db, "robust agents for small models") == [
        "Robust Agents for Small Models", "BARAT: Robust Agents for Small Models"]
    assert (await titles(db, "small robust agents"))[0] == "Small Robust Agents"


async def test_an_old_paper_asked_for_by_its_title_is_found_beyond_the_window(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fts, "WINDOW", 5)
    await load(db, dt.date(2016, 3, 1), paper("Sparse Mixture Routing", "Experts.", 1))
    await load(db, D1, *[paper(f"Newer {i}", "Sparse mixture routing of experts.", 10 + i) for i in range(8)])
    page = await search(db, parse("sparse mixture routing"))
    assert page.hits[0].title.text == "Sparse Mixture Routing"
    assert (page.count, page.count_is_lower_bound, page.exact) == (5, True, False)
    assert [h.title.text for h in page.hits[1:]] == [f"Newer {i}" for i in (7, 6, 5, 4, 3)]


async def test_a_huge_repetitive_abstract_earns_nothing_and_gives_a_short_snippet(db: Database) -> None:
    await load(db, D1, paper("Hostile", " ".join(["banana"] * 20_000), 1), paper("Banana split", n=2))
    page = await search(db, parse("banana"))
    assert [h.title.text for h in page.hits] == ["Banana split", "Hostile"]  # repetition earns nothing
    snippet = page.hits[1].snippet
    assert len(snippet.text.split()) <= fts.SNIPPET_TOKENS + 2 and snippet.spans


async def test_hits_carry_title_dates_links_score_and_marked_snippet(archive: Database) -> None:
    await load(archive, D3, paper("World Models", "Learning world models from video.", 5))  # listed again
    page = await search(archive, parse("video world"))
    hit = next(h for h in page.hits if h.arxiv_id == "2509.00005")
    assert hit.title.text == "World Models"
    assert [hit.title.text[s:e] for s, e in hit.title.spans] == ["World"]
    assert [hit.snippet.text[s:e] for s, e in hit.snippet.spans] == ["world", "video"]
    assert [(x.date, x.source) for x in hit.listings] == [(D2, "hf-daily"), (D3, "hf-daily")]
    assert hit.first_listed == D2
    assert hit.links == {"arxiv": "https://arxiv.org/abs/2509.00005"}
    assert hit.score > hit.relevance > 0


async def test_markdown_in_the_abstract_does_not_disturb_the_spans(db: Database) -> None:
    await load(db, D1, paper("Stars", "A **bold** claim about *stars* and `code` [link](x).", 1))
    snippet = (await search(db, parse("stars"))).hits[0].snippet
    assert snippet.text == "A **bold** claim about *stars* and `code` [link](x)."
    assert [snippet.text[s:e] for s, e in snippet.spans] == ["stars"]


def test_unmark_ignores_stray_markers() -> None:
    assert unmark("a \ue000b\ue001 \ue001c\ue000") == fts.Marked("a b c", ((2, 3),))


async def test_a_long_abstract_gives_a_short_snippet_around_the_match(db: Database) -> None:
    words = " ".join(f"w{i}" for i in range(400))
    await load(db, D1, paper("Long", f"{words} needle {words}", 1))
    snippet = (await search(db, parse("needle"))).hits[0].snippet
    assert len(snippet.text.split()) <= fts.SNIPPET_TOKENS + 2
    assert "needle" in snippet.text and snippet.text.startswith("…")


@pytest.mark.parametrize(("filters", "expected"), [
    (SearchFilters(since=D2), {"Agents that Plan", "World Models", "Sparse Attention"}),
    (SearchFilters(until=D1), {"Diffusion Models for Video", "A Survey of Large Language Models",
                               "Quantization of Transformers"}),
    (SearchFilters(date=D2), {"Agents that Plan", "World Models"}),
    (SearchFilters(source="arxiv-rss:cs.LG"), {"Sparse Attention"}),
    (SearchFilters(since=D1, until=D1, source="arxiv-rss:cs.LG"), set()),
    (SearchFilters(source="nowhere"), set()),
])
async def test_filters(archive: Database, filters: SearchFilters, expected: set[str]) -> None:
    assert set(await titles(archive, "models OR attention OR agents", filters)) == expected


async def test_a_relisted_paper_matches_the_filter_of_its_later_listing(archive: Database) -> None:
    await load(archive, D3, paper("Quantization of Transformers", "Post-training quantization.", 3))
    assert await titles(archive, "quantization", SearchFilters(date=D3)) == ["Quantization of Transformers"]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_the_cursor_walks_every_result_once(db: Database, limit: int) -> None:
    await load(db, D1, *[paper(f"Paper {i} on graphs", "Graphs " * (i % 3 + 1), i) for i in range(12)])
    await load(db, D2, *[paper(f"Later {i} on graphs", "Graphs.", 100 + i) for i in range(5)])
    seen: list[int] = []
    cursor = None
    while True:
        page = await search(db, parse("graphs"), limit=limit, cursor=cursor)
        assert page.count == 17 and not page.count_is_lower_bound
        seen += [h.paper_id for h in page.hits]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 17
    whole = await search(db, parse("graphs"), limit=50)
    assert [h.paper_id for h in whole.hits] == seen


@pytest.mark.parametrize("cursor", ["garbage!", "eyJ4IjoxfQ", ""])
async def test_a_bad_cursor_is_a_query_error(archive: Database, cursor: str) -> None:
    if not cursor:
        assert (await search(archive, parse("models"), cursor=cursor)).hits
        return
    with pytest.raises(CursorError):
        await search(archive, parse("models"), cursor=cursor)


async def test_a_cursor_only_continues_its_own_search(archive: Database) -> None:
    page = await search(archive, parse("models"), limit=1)
    assert page.next_cursor
    with pytest.raises(CursorError, match="different search"):
        await search(archive, parse("video"), cursor=page.next_cursor)
    with pytest.raises(CursorError, match="different search"):
        await search(archive, parse("models"), SearchFilters(date=D1), cursor=page.next_cursor)


async def test_a_large_result_counts_up_to_the_window(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fts, "WINDOW", 5)
    await load(db, D1, *[paper(f"Old {i}", "Common words.", i) for i in range(6)])
    await load(db, D2, *[paper(f"New {i}", "Common words.", 10 + i) for i in range(3)])
    page = await search(db, parse("common"), limit=10)
    assert (page.count, page.count_is_lower_bound, page.exact) == (5, True, False)
    assert [h.title.text for h in page.hits][:3] == ["New 2", "New 1", "New 0"]  # the newest were ranked


async def test_new_papers_are_searchable_as_soon_as_their_digest_loads(archive: Database) -> None:
    assert await titles(archive, "hypernetworks") == []
    await load(archive, D3, paper("Hypernetworks at Scale", "Weights that write weights.", 50))
    assert await titles(archive, "hypernetworks") == ["Hypernetworks at Scale"]
    # A changed abstract is re-indexed: the old words stop matching.
    await load(archive, D3, paper("Hypernetworks at Scale", "Generated parameters.", 50))
    assert await titles(archive, "weights") == []
    assert await titles(archive, "parameters") == ["Hypernetworks at Scale"]


async def test_matching_ids_uses_the_same_stemming(archive: Database) -> None:
    ids = {h.paper_id for h in (await search(archive, parse("video"))).hits}
    everything = list(range(1, 100))
    assert await matching_ids(archive, parse("videos"), everything) == ids
    assert await matching_ids(archive, parse("videos"), []) == set()
    assert await matching_ids(archive, parse("title:diffusion"), [min(ids)]) <= ids


async def test_an_empty_archive_finds_nothing(db: Database) -> None:
    page = await search(db, parse("anything"))
    assert (page.hits, page.count, page.next_cursor) == ([], 0, None)


async def test_the_sample_digest_is_searchable(db: Database, fixtures: Path) -> None:
    text = (fixtures / "hf-daily-papers-page-sep-9.txt").read_text(encoding="utf-8")
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    start = blocks.index("Sep 9") + 1
    records = [paper(t, a, i) for i, (t, a) in enumerate(zip(blocks[start::2], blocks[start + 1::2], strict=False))]
    await load(db, D2, *records)
    page = await search(db, parse("title:diffusion"), limit=100)
    assert page.hits and all("diffusion" in h.title.text.lower() for h in page.hits)


async def test_a_word_new_to_the_index_is_found_by_a_prefix_searched_before(prefixed: Database) -> None:
    assert len(await titles(prefixed, "quant*")) == 4
    assert await titles(prefixed, "title:quant*") == ["Quantum Models", "Quantized Diffusion"]
    await load(prefixed, D2, paper("Quantile Regression", "Predicting intervals.", 5))
    assert (await titles(prefixed, "title:quant*"))[0] == "Quantile Regression"
    await load(prefixed, D2, paper("Quantile Regression", "Predicting quantitative intervals.", 5))  # re-indexed
    assert await titles(prefixed, "quantit*") == ["Quantile Regression"]


async def test_idf_counts_follow_the_archive(db: Database) -> None:
    await load(db, D1, paper("Graphs", "graphs", 1), paper("Trees", "trees", 2))
    first = (await search(db, parse("graphs"))).hits[0].relevance
    await load(db, D2, *[paper(f"More graphs {i}", "graphs", 10 + i) for i in range(5)])
    page = await search(db, parse("graphs"), limit=10)
    assert next(h for h in page.hits if h.paper_id == 1).relevance < first  # a commoner word weighs less


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", " ", fts.OPEN, fts.CLOSE]), max_size=20))
def test_relevance_counts_the_spans_unmark_finds(marked: str) -> None:
    spans = len(unmark(marked).spans)
    assert fts._relevance([1.0] * 30, marked) == fts._relevance_of([1.0] * 30, spans, fts._title_words(marked, spans))
