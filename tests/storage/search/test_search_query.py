"""The query language: what users type, what it means, and that no input reaches FTS5 as syntax."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.search.query import MAX_QUERY_CHARS, MAX_WORDS, AnyOf, Query, QueryError, Term, parse


def q(*clauses: tuple[Term, ...] | Term, excluded: tuple[Term, ...] = ()) -> Query:
    return Query(tuple(AnyOf(c if isinstance(c, tuple) else (c,)) for c in clauses), excluded)


@pytest.mark.parametrize(("text", "expected"), [
    ("diffusion models", q(Term("diffusion"), Term("models"))),
    ('"vision transformer"', q(Term("vision transformer"))),
    ('"  vision   transformer "', q(Term("vision transformer"))),
    ("llm -survey", q(Term("llm"), excluded=(Term("survey"),))),
    ('llm -"large language"', q(Term("llm"), excluded=(Term("large language"),))),
    ("lora OR adapter tuning", q((Term("lora"), Term("adapter")), Term("tuning"))),
    ("a OR b OR c", q((Term("a"), Term("b"), Term("c")))),
    ("quantiz*", q(Term("quantiz", prefix=True))),
    ('"large lang"*', q(Term("large lang", prefix=True))),
    ("title:agent", q(Term("agent", title_only=True))),
    ('title:"world model"', q(Term("world model", title_only=True))),
    ("TITLE:agent*", q(Term("agent", prefix=True, title_only=True))),
    ("-title:survey agents", q(Term("agents"), excluded=(Term("survey", title_only=True),))),
    # Everything else is plain words.
    ("gpt-4", q(Term("gpt-4"))),
    ("abstract:diffusion", q(Term("abstract:diffusion"))),
    ("title: agent", q(Term("title:"), Term("agent"))),
    ("NEAR(a b)", q(Term("NEAR(a"), Term("b)"))),
    ("x AND y NOT z", q(Term("x"), Term("AND"), Term("y"), Term("NOT"), Term("z"))),
    ("or and", q(Term("or"), Term("and"))),
    # Dangling operators are dropped: the user meant an operator, not the word.
    ("OR diffusion", q(Term("diffusion"))),
    ("diffusion OR", q(Term("diffusion"))),
    ("diffusion - models", q(Term("diffusion"), Term("models"))),
    ("a OR -b", q(Term("a"), excluded=(Term("b"),))),
    # Unbalanced quotes run to the end; punctuation and emoji alone are no words.
    ('"world model', q(Term("world model"))),
    ('agents "', q(Term("agents"))),
    ("diffusion 🙂 * ^ ,", q(Term("diffusion"))),
    ("تعلم الآلة", q(Term("تعلم"), Term("الآلة"))),
    ("model model", q(Term("model"))),
    ("zero\x00byte", q(Term("zero"), Term("byte"))),
])
def test_parse(text: str, expected: Query) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "nothing to search for"),
    ("   ", "nothing to search for"),
    ("OR", "nothing to search for"),
    ("🙂🙂", "nothing to search for"),
    ('"" * ^ -', "nothing to search for"),
    ("-survey", "cannot be only -exclusions"),
    ('-"a b" -c', "cannot be only -exclusions"),
    ("a*", "too short for a prefix"),
    (" ".join(f"w{i}" for i in range(MAX_WORDS + 1)), "too many words"),
    ("a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-a-b-c-d-e-f-g", "too many words"),
    ("x" * (MAX_QUERY_CHARS + 1), "too long"),
])
def test_unusable_queries_say_why(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse(text)


@pytest.mark.parametrize(("text", "fts5"), [
    ("diffusion models", '"diffusion" AND "models"'),
    ('say "hi', '"say" AND "hi"'),
    ("lora OR adapter -survey", '(("lora" OR "adapter")) NOT ("survey")'),
    ("title:agent quantiz*", 'title : "agent" AND "quantiz" *'),
])
def test_compiles_to_quoted_fts5(text: str, fts5: str) -> None:
    assert parse(text).to_fts5() == fts5


@pytest.mark.parametrize(("text", "expansions", "fts5"), [
    ("quantiz*", {Term("quantiz", prefix=True): ("quantiz",)}, '"quantiz"'),
    ("title:quant* -survey", {Term("quant", prefix=True, title_only=True): ("quantiz", "quantum")},
     '(title : ("quantiz" OR "quantum")) NOT ("survey")'),
    ('"vector quant"* -bia*', {Term("vector quant", prefix=True): ("vector quantiz",),
                               Term("bia", prefix=True): ("bia", "bias")},
     '("vector quantiz") NOT (("bia" OR "bias"))'),
    ("quantiz* model", {Term("quantiz", prefix=True): None}, '"quantiz" * AND "model"'),  # None: kept as typed
    ("acc*", {Term("acc", prefix=True): ("accur", "acceler*")}, '("accur" OR "acceler" *)'),  # * ends a prefix
])
def test_prefix_terms_are_written_as_their_expansions(
        text: str, expansions: dict[Term, tuple[str, ...] | None], fts5: str) -> None:
    assert parse(text).to_fts5(expansions) == fts5


def test_title_filter_is_none_when_every_term_is_title_only() -> None:
    assert parse("title:agent title:memory").title_filter_fts5() is None
    assert parse("agent").title_filter_fts5() == '("agent") AND (title : ("agent"))'


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, abstract, tokenize='porter unicode61 remove_diacritics 2')")
    conn.execute("INSERT INTO t VALUES ('Agents that plan', 'we study \"quoted\" words, OR and NOT')")
    yield conn
    conn.close()


def _check(text: str, conn: sqlite3.Connection) -> None:
    try:
        query = parse(text)
    except QueryError as exc:
        assert str(exc)
        return
    assert parse(str(query)) == query  # a topic stores str(query); it must mean the same later
    conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.to_fts5(),)).fetchall()
    title = query.title_filter_fts5()
    if title:
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (title,)).fetchall()


_HOSTILE = st.text(alphabet=st.sampled_from(list('"-*^:() ORANDNOTNEARtitle\'{}+,.🙂ש\u200f\u0301\x00ab')), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), _HOSTILE))
def test_any_text_parses_or_says_why_and_never_breaks_fts5(fts: sqlite3.Connection, text: str) -> None:
    _check(text, fts)
