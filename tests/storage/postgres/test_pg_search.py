"""The query language as PostgreSQL's tsquery (storage/postgres/search.py): what is written for
each construct, that no user text is ever syntax, the snippet cut, and the kept idf counts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.postgres import search as pg
from storage.postgres.db import PostgresDatabase
from storage.search import QueryError, parse
from storage.search.fts import Marked, search
from tests.storage.search.archive import load, paper


@pytest.mark.parametrize(("text", "expected"), [
    ("diffusion models", "'diffusion' & 'models'"),
    ('"world model"', "('world' <-> 'model')"),
    ("quantiz*", "'quantiz':*"),
    ('"vector quant"*', "('vector' <-> 'quant':*)"),
    ("title:agent", "'agent':A"),
    ("title:quant*", "'quant':*A"),
    ("lora OR adapter", "('lora' | 'adapter')"),
    ("llm -survey", "(('llm' | 'llms')) & !('survey')"),
    ("video -title:diffusion", "('video') & !('diffusion':A)"),
    ("gpt-4", "(('gpt' | 'gpts') <-> '4' | 'gpt-4')"),  # <-> binds tighter than |
    ("it's", "('it' <-> 's' | 'it''s')"),
    ("a\\b&!c", "('a' <-> 'b' <-> 'c' | 'a\\\\b&!c')"),
    ("GPUs", "('GPUs' | 'gpu')"),
])
def test_each_construct_is_written_as_tsquery(text: str, expected: str) -> None:
    assert pg.tsquery_source(parse(text)) == expected


def test_a_snippet_is_cut_around_the_marks_with_ellipses() -> None:
    words = [f"w{i}" for i in range(100)]
    words[60] = "needle"
    text = " ".join(words)
    start = text.index("needle")
    cut = pg.snippet(Marked(text, ((start, start + 6),)), 24)
    assert cut.text.startswith("…") and cut.text.endswith("…") and len(cut.text[1:-1].split()) == 24
    assert [cut.text[s:e] for s, e in cut.spans] == ["needle"]
    short = Marked("A **bold** claim.", ((4, 8),))
    assert pg.snippet(short, 24) == short


@pytest.fixture
async def pgdb(pg_url: str) -> PostgresDatabase:
    db = await PostgresDatabase.connect(pg_url)
    await load(db, dt.date(2025, 9, 8), paper("Scaling GPT-3.5 with GPUs", "State-of-the-art LLMs on CPUs.", 1),
               paper("GPT 4 on one GPU", "A state of the art LLM.", 2))
    return db


async def _ids(db: PostgresDatabase, text: str) -> set[int]:
    return {h.paper_id for h in (await search(db, parse(text))).hits}


async def test_words_match_as_on_sqlite_and_as_postgresql_parses_them(pgdb: PostgresDatabase) -> None:
    try:
        assert await _ids(pgdb, "gpt-3.5") == {1}  # "GPT-3.5" as PostgreSQL's parser reads it
        assert await _ids(pgdb, "gpt-4") == {2}  # FTS5's words: gpt, then 4
        assert await _ids(pgdb, "gpu") == await _ids(pgdb, "GPUs") == {1, 2}
        assert await _ids(pgdb, "llms") == await _ids(pgdb, "LLM") == {1, 2}
        assert await _ids(pgdb, '"state of the art"') == {1, 2}
        assert await _ids(pgdb, "the") == set()  # a stop word: not indexed, no error
    finally:
        await pgdb.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(list("ab '\"\\:&|!()<->*-é") + ["title:", " OR "]), max_size=15).map("".join))
async def test_no_typed_text_is_tsquery_syntax(pg_url: str, text: str) -> None:
    try:
        query = parse(text)
    except QueryError:
        return
    db = await PostgresDatabase.connect(pg_url, migrate=False)
    try:
        await db.fetchone("SELECT to_tsquery('english', $1)", (pg.tsquery_source(query),))  # never a syntax error
    finally:
        await db.close()


async def test_idf_counts_are_kept_until_papers_change(pgdb: PostgresDatabase) -> None:
    try:
        await search(pgdb, parse("state"))
        kept = pg._kept[pgdb]
        assert kept.counts and kept.version is not None
        await search(pgdb, parse("state"))
        assert pg._kept[pgdb] is kept
        await load(pgdb, dt.date(2025, 9, 9), paper("Another state", "More.", 3))
        await search(pgdb, parse("state"))
        assert pg._kept[pgdb] is not kept and pg._kept[pgdb].version != kept.version
    finally:
        await pgdb.close()
