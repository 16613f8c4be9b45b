"""FTS5's own parts of search, on SQLite alone: prefixes written out as the indexed words, the
private index that marks a page, and the tokenizer they share with papers_fts (PostgreSQL has
none of these: tests/storage/postgres/test_pg_search.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.db import Database
from storage.search import fts, parse
from storage.search.fts import SearchFilters, matching_ids, search
from storage.sqlite.search import _title_counts, index_cache, scratch
from tests.storage.search.archive import D1, load, paper, prefixed_archive

# Stems the porter stemmer changes again ("accelerated" -> acceler -> accel, "biased" -> bias -> bia)
# cannot be written out as words: those prefixes must stay FTS5 prefix queries.
PREFIXES = ["quant*", "quantiz*", "title:quant*", "acc*", "accel*", "acceler*", "bia*", "bias*", '"vector quant"*',
            "model -quant*", "diffusion OR quant*", "vid*", "zzz*", "mod*"]


async def test_a_huge_repetitive_abstract_is_marked_from_a_bounded_head(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await load(db, D1, paper("Hostile", " ".join(["banana"] * 20_000), 1), paper("Banana split", n=2))
    given: list[int] = []
    mark = scratch.mark

    def spy(match: str, papers: list[tuple[int, str, str]], *args: object) -> dict[int, tuple[str, str]]:
        given.extend(len(abstract) for _, _, abstract in papers)
        return mark(match, papers, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(scratch, "mark", spy)
    page = await search(db, parse("banana"))
    assert [h.title.text for h in page.hits] == ["Banana split", "Hostile"]  # repetition earns nothing
    assert max(given) <= fts.MARK_CHARS
    snippet = page.hits[1].snippet
    assert len(snippet.text.split()) <= fts.SNIPPET_TOKENS + 2 and snippet.spans


@pytest.mark.parametrize("text", PREFIXES)
async def test_a_prefix_search_matches_what_fts5s_prefix_query_matches(prefixed: Database, text: str) -> None:
    query = parse(text)
    rows = await prefixed.fetchall("SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (query.to_fts5(),))
    page = await search(prefixed, query, limit=50)
    assert {h.paper_id for h in page.hits} == {r[0] for r in rows}
    assert await matching_ids(prefixed, query, range(1, 10)) == {r[0] for r in rows}


async def test_prefixes_are_expanded_only_when_the_words_mean_the_same(prefixed: Database) -> None:
    row = await prefixed.fetchone(f"SELECT {index_cache.VERSION_SQL} AS v")
    assert row is not None
    state = index_cache.state_for(prefixed, row["v"])
    assert await index_cache.expansion(prefixed, state, parse("quant*").required[0].terms[0]) == ("quantiz", "quantum")
    assert await index_cache.expansion(prefixed, state, parse('"vector quant"*').required[0].terms[0]) == (
        "vector quantiz", "vector quantum")
    # "accelerated" is indexed as acceler, which FTS5 would stem again to accel: written as a prefix
    assert await index_cache.expansion(prefixed, state, parse("acc*").required[0].terms[0]) == (
        "account", "accur", "accuraci", "acceler*")
    assert await index_cache.expansion(prefixed, state, parse("zzz*").required[0].terms[0]) is None


async def test_the_tokenizer_is_the_one_papers_fts_uses(db: Database) -> None:
    row = await db.fetchone("SELECT sql FROM sqlite_master WHERE name = 'papers_fts'")
    assert row is not None and f"tokenize='{scratch.TOKENIZE}'" in row["sql"]
    assert scratch.tokens("Vector-Quantizers, Élan models") == ("vector", "quantiz", "elan", "model")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "B", "7", " ", "-", "_", "é", "e\u0301", "🙂", "\ue123", fts.OPEN, fts.CLOSE]),
                max_size=24).map("".join))
def test_title_counts_are_the_regex_counts(marked: str) -> None:
    # The ASCII shortcut must count exactly what the regexes count, whatever the text holds.
    spans = len(fts.SPAN.findall(marked)) if fts.OPEN in marked else 0
    expected = (spans, fts.title_words(marked, spans) if spans else 1)
    assert _title_counts(marked) == expected


D2 = D1 + dt.timedelta(days=1)
ONE_CLAUSE = ["diffusion", "models", "quantiz*", '"vector quantization"', "diffusion OR video", "model -video",
              "élan", "title:diffusion OR video", "bilder", "zzqxj", "acc* -quantum"]
CLAUSES = ["diffusion models", "vector quant*", "video models -quantum", "élan diffusion", "title:diffusion models",
           "diffusion OR video models", "models models", '"vector quantization" video', "title:video title:models",
           "title:model title:models", "title:quant* title:quantized", 'title:"vector quantization" title:quantization',
           "title:élan title:models", "title:video title:models -quantum"]


@pytest.mark.parametrize("window", [3, 1000])
@pytest.mark.parametrize("text", ONE_CLAUSE + CLAUSES)
async def test_walks_count_title_terms_as_highlight_on_every_match_does(
        db: Database, monkeypatch: pytest.MonkeyPatch, text: str, window: int) -> None:
    """The walks use highlight() only where a title holds a term (a query of several clauses), or
    not at all (a one-clause query's walks read titles from papers): the same matches, title terms
    (up to the number of clauses, all the ranking uses) and title words as highlight() on every
    match gives, also for titles that are not ASCII, and when the window cuts the walk short."""
    await prefixed_archive(db)
    await load(db, D2, paper("Diffusion of diffusion models", n=6), paper("Élan: diffusion für Bilder", n=7),
               paper("Cafe\u0301 video \ue123 diffusion", n=8), paper("Vector quantization of video models", n=9),
               paper("Untitled", "Diffusion in the abstract only; models too.", n=10),
               paper("Models, models: quantized élan", n=11))
    monkeypatch.setattr(fts, "WINDOW", window)
    query = parse(text)
    titled = fts.in_title(query)
    index = await fts.searcher(db, query)
    walk = await index._walk_filters(SearchFilters())  # type: ignore[attr-defined]
    assert walk is not None

    def capped(rows: list[fts.Match]) -> list[fts.Match]:
        clauses = len(query.required)
        return [(pid, min(found, clauses), words, listed) for pid, found, words, listed in rows]

    marked = capped(await index._marked_walk(query, *walk))  # type: ignore[attr-defined]
    marked_titles = capped(await index._marked_walk(titled, *walk))  # type: ignore[attr-defined]
    assert capped(await index.candidates(query, SearchFilters()) or []) == marked
    assert capped(await index.candidates(titled, SearchFilters()) or []) == marked_titles
    if text != "zzqxj":  # not vacuous: titles hold the clause
        assert marked_titles and all(found for _, found, _, _ in marked_titles)
