"""storage/search/fts.py on PostgreSQL: the weighted tsvector `papers.search` (title A,
abstract B, English stemming) and its GIN index, with the same candidate policy and ranking as
FTS5 (storage/search/fts.py): the WINDOW newest matches, ranked in Python.

The query language becomes a tsquery written here, never from user text: every word is a quoted
tsquery literal (quotes doubled, backslashes escaped) normalised by to_tsquery, a bound
parameter, so a user's `&`, `!`, `:` or `<->` stay words. A term's words follow FTS5's notion of
a word (letters and digits, storage.search.query.words_in): `gpt-4` is the phrase `gpt <-> 4`,
which matches both "GPT-4" and "GPT 4", as on SQLite. PostgreSQL's parser keeps some tokens whole
that FTS5 splits (`3.5`, `example.com`, `-4` in `gpt-4`), so a written form that differs from its
words is also looked for as PostgreSQL parses it: `(gpt <-> 3 <-> 5 | 'gpt-3.5')`. A prefix
is `:*` on the last word, `title:` the weight A (the title's lexemes), a phrase `<->` (a stop
word inside a phrase becomes a gap, `<2>`). The English stemmer keeps the s of an acronym's
plural ("LLMs" is llms) where FTS5's Porter stemmer drops it, so such a word is also looked for in
its other number (`llm | llms`). Stop words ("the", "of") are not indexed: a clause
made of them alone is dropped, and a search of nothing else finds nothing (docs/search.md).

Which query terms a candidate's title holds (for the title part of the relevance) is tested
against the title's own tsvector, one term at a time, and the title's length is its number of
lexemes, so stop words count on neither side. Titles and snippets of the page are marked with
ts_headline() over the page's papers alone; the snippet is cut around the marks here, in the
shape FTS5's snippet() gives.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from storage.postgres.db import PostgresDatabase
from storage.search import fts
from storage.search.fts import (
    CLOSE,
    OPEN,
    Candidate,
    Marked,
    Match,
    PaperText,
    SearchFilters,
    SearchHit,
    build_hits,
    idf_of,
    unmark,
)
from storage.search.query import Query, Term, words_in

# The text search configuration of papers.search (storage/postgres/migrations/0001_schema.sql).
CONFIG = "english"
_WORD = re.compile(r"[^\W_]+")
_HEADLINE = f"StartSel={OPEN}, StopSel={CLOSE}, HighlightAll=true"


# -- the query language as tsquery text -------------------------------------------------------

def _literal(text: str) -> str:
    """`text` as one quoted tsquery operand: nothing in it is syntax."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _label(prefix: bool, title_only: bool) -> str:
    flags = ("*" if prefix else "") + ("A" if title_only else "")
    return ":" + flags if flags else ""


_VOWELS = frozenset("aeiouy")


def _plural_twin(word: str) -> str | None:
    """The other number of an acronym, where the English (Snowball) stemmer keeps a plural's s
    that FTS5's Porter stemmer drops: "LLMs", "GPUs", "RNNs" are indexed as llms, gpus, rnns, so
    "LLM" would not find "LLMs" as it does on SQLite. Only words without a vowel (but a last u):
    a twin of a stop word ("this", "was") would no longer be dropped as one. None otherwise."""
    w = word.lower()
    if len(w) < 2 or w.isdigit() or w.endswith("ss"):
        return None
    stem = w[:-1] if w.endswith("s") else w
    if not stem or _VOWELS.intersection(stem.removesuffix("u")):
        return None
    return stem if w.endswith("s") else w + "s"


def _word(word: str, label: str, *, twin: bool) -> str:
    other = _plural_twin(word) if twin else None
    if other is None:
        return _literal(word) + label
    return f"({_literal(word)}{label} | {_literal(other)}{label})"


def term_source(term: Term) -> str:
    """`term` as to_tsquery input: its words joined by `<->`, `:*` on the last word of a prefix,
    every word weight A for `title:`."""
    chunks = [chunk for chunk in term.text.split() if words_in(chunk)]
    parts = []
    for i, chunk in enumerate(chunks):
        prefix = term.prefix and i == len(chunks) - 1
        words = words_in(chunk)
        last = len(words) - 1
        split = " <-> ".join(_word(w, _label(prefix and j == last, term.title_only), twin=not (prefix and j == last))
                             for j, w in enumerate(words))
        if words == [chunk]:
            parts.append(split)
        else:  # also as PostgreSQL's parser splits the written form ('gpt-3.5' -> gpt <-> -3.5)
            parts.append(f"({split} | {_literal(chunk)}{_label(prefix, term.title_only)})")
    return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"


def tsquery_source(query: Query) -> str:
    """The whole query as to_tsquery input: every clause required, any excluded term refused."""
    clauses = []
    for clause in query.required:
        parts = [term_source(t) for t in clause.terms]
        clauses.append(parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")")
    expr = " & ".join(clauses)
    if query.excluded:
        expr = f"({expr}) & !({' | '.join(term_source(t) for t in query.excluded)})"
    return expr


def _anywhere(term: Term) -> Term:
    return replace(term, title_only=False)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A query as PostgreSQL normalised it: tsquery texts (PostgreSQL's own output, read back
    with ::tsquery), '' where only stop words were left."""

    match: str
    terms: dict[Term, str]  # each positive term, as typed (weights kept): for its idf
    in_title: list[str]  # each positive term that is not only stop words, weights dropped
    clauses: list[list[Term]]  # the required clauses that are not only stop words


async def _compile(db: PostgresDatabase, query: Query, extra: str = "") -> tuple[Compiled, Any]:
    """Normalise `query` with to_tsquery in one round trip; `extra` adds a column to the row."""
    positive = list(dict.fromkeys(query.positive_terms()))
    sources = [term_source(t) for t in positive] + [term_source(_anywhere(t)) for t in positive]
    row = await db.fetchone(
        f"SELECT to_tsquery('{CONFIG}', $1)::text AS match,"  # noqa: S608 - CONFIG and extra are ours
        f" ARRAY(SELECT to_tsquery('{CONFIG}', s)::text FROM unnest($2::text[]) WITH ORDINALITY AS u(s, i)"
        f" ORDER BY i) AS terms{extra}",
        (tsquery_source(query), sources))
    assert row is not None
    normalised = list(row["terms"])
    terms = dict(zip(positive, normalised[:len(positive)], strict=True))
    in_title = [q for q in normalised[len(positive):] if q]
    clauses = [[t for t in c.terms if terms[t]] for c in query.required]
    return Compiled(row["match"], terms, in_title, [c for c in clauses if c]), row


# -- the search ---------------------------------------------------------------------------------

async def _filter_bounds(db: PostgresDatabase, filters: SearchFilters) -> tuple[int, int] | None:
    """The smallest and largest paper id listed by the digests the filters select (a range of
    the primary key, so the newest-first walk starts inside it); None when no digest matches."""
    low, high = filters.day_range()
    row = await db.fetchone(
        "SELECT MIN(e.paper_id) AS lo, MAX(e.paper_id) AS hi FROM digests AS d"
        " JOIN digest_entries AS e ON e.digest_id = d.id"
        " WHERE d.date BETWEEN $1 AND $2 AND ($3::text IS NULL OR d.source = $3)",
        (low, high, filters.source))
    if row is None or row["lo"] is None:
        return None
    return int(row["lo"]), int(row["hi"])


@dataclass(slots=True)
class _Kept:
    """idf counts read at one state of the index (search_versions' newest xid), for one database."""

    version: str | None
    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    sample: tuple[int, int] | None = None  # (floor, papers above it)


_kept: weakref.WeakKeyDictionary[PostgresDatabase, _Kept] = weakref.WeakKeyDictionary()
MAX_KEPT = 10_000  # counts kept per state, so a stream of distinct queries cannot grow memory
# The newest committed writer of papers' text, and whether every older transaction has ended (a
# count made while an older writer is still open would go stale without the version changing).
_VERSION_SQL = ("(SELECT max(xid)::text FROM search_versions) AS version,"
                " pg_snapshot_xmin(pg_current_snapshot()) > COALESCE((SELECT max(xid) FROM search_versions), '0')"
                " AS settled")


class TsSearcher:
    """One search on papers.search, with what is kept for the index's state (idf counts)."""

    def __init__(self, db: PostgresDatabase, query: Query, compiled: Compiled, reference: dt.date,
                 version: str | None) -> None:
        self.db = db
        self.reference = reference
        self._compiled = {query: compiled}
        kept = _kept.get(db)
        if kept is None or kept.version != version:
            kept = _kept[db] = _Kept(version)
        self.kept = kept

    async def compiled(self, query: Query) -> Compiled:
        found = self._compiled.get(query)
        if found is None:
            found = self._compiled[query] = (await _compile(self.db, query))[0]
        return found

    async def _planned(self, sql: str, params: Sequence[Any], *, rare: bool = False) -> list[Any]:
        """Run a statement whose best plan depends on the tsquery (a rare word: the GIN index; a
        frequent one: the newest rows first) with a plan made for these values, never the
        generic plan a prepared statement falls back to. `rare`: the matches are known to be
        sparse, so walking the newest rows would read most of the table (the planner guesses a
        word it has no statistics for, one that matches nothing included, is common enough)."""
        async with self.db.atomic() as tx:
            await tx.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            if rare:
                await tx.execute("SET LOCAL enable_indexscan = off")
            return await tx.fetchall(sql, params)

    async def _rare(self, query: Query, compiled: Compiled) -> bool:
        """Whether fewer than WINDOW of the newest IDF_SAMPLE papers can match `query` (each
        clause's terms counted, the rarest clause bounding the query): then its WINDOW newest
        matches lie further back than the sample, and the GIN index finds them sooner. Title-only
        terms are left to the planner: the index cannot tell a title's words from an abstract's."""
        if not compiled.clauses or any(t.title_only for t in query.positive_terms()):
            return False
        sample, counts = await self._sample_counts(compiled)
        terms = compiled.terms
        bound = min(sum(counts[(terms[t], sample[0])] for t in clause) for clause in compiled.clauses)
        return bound < fts.WINDOW

    async def candidates(self, query: Query, filters: SearchFilters) -> list[Match] | None:
        """(id, title terms, title lexemes, first_listed) of the WINDOW + 1 newest matches."""
        compiled = await self.compiled(query)
        if not compiled.match:
            return []  # stop words alone: nothing is indexed to match
        params: list[Any] = [compiled.match, compiled.in_title, fts.WINDOW + 1, 0, 2**63 - 1]
        where = ""
        if filters.active():
            bounds = await _filter_bounds(self.db, filters)
            if bounds is None:
                return None
            low, high = filters.day_range()
            params[3:5] = bounds
            params += [low, high, filters.source]
            where = (" AND EXISTS (SELECT 1 FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
                     " WHERE e.paper_id = p.id AND d.date BETWEEN $6 AND $7 AND ($8::text IS NULL OR d.source = $8))")
        rare = await self._rare(query, compiled)
        # A rare query's matches are all read from the GIN bitmap and sorted: sorting their ids
        # alone, then reading the WINDOW kept, beats sorting every match's row with its tsvector.
        newest = ("SELECT k.id, c.search, c.first_listed FROM (SELECT p.id FROM papers AS p WHERE {match}"
                  " ORDER BY p.id DESC LIMIT $3) AS k JOIN papers AS c ON c.id = k.id" if rare else
                  "SELECT p.id, p.search, p.first_listed FROM papers AS p WHERE {match} ORDER BY p.id DESC LIMIT $3")
        match = f"p.search @@ $1::tsquery AND p.id BETWEEN $4 AND $5{where}"
        rows = await self._planned(
            # The title's lexemes (weight A) are read after the LIMIT, for the rows kept alone.
            "SELECT c.id, (SELECT count(*) FROM unnest($2::text[]) AS t(q) WHERE tv @@ q::tsquery) AS found,"  # noqa: S608
            " length(tv) AS words, c.first_listed"
            f" FROM ({newest.format(match=match)}) AS c,"
            " LATERAL ts_filter(c.search, '{a}') AS tv ORDER BY c.id DESC",
            params, rare=rare)
        return [(r[0], r[1], max(r[2], r[1], 1), r[3]) for r in rows]

    async def idf(self, query: Query) -> list[float]:
        """Per required clause that is not only stop words, the idf of its rarest term over the
        newest IDF_SAMPLE papers. Counts are kept until the index changes: a frequent term is
        the costly one to count."""
        compiled = await self.compiled(query)
        sample, counts = await self._sample_counts(compiled)
        terms = list(dict.fromkeys(compiled.terms[t] for clause in compiled.clauses for t in clause))
        idf = {q: idf_of(sample[1], counts[(q, sample[0])]) for q in terms}
        return [max(idf[compiled.terms[t]] for t in clause) for clause in compiled.clauses]

    async def _sample_counts(self, compiled: Compiled) -> tuple[tuple[int, int], dict[tuple[str, int], int]]:
        """(floor, papers above it) and how many of those hold each of the query's terms."""
        terms = list(dict.fromkeys(compiled.terms[t] for clause in compiled.clauses for t in clause))
        kept = self.kept
        sample, counts = kept.sample, kept.counts
        missing = [q for q in terms if sample is None or (q, sample[0]) not in counts]
        if missing:
            sample, found = await self._count(missing)
            counts = {**counts, **found}
            if any((q, sample[0]) not in counts for q in terms):
                # Counted above another floor (papers came meanwhile): all count again, together.
                sample, counts = await self._count(terms)
        assert sample is not None
        return sample, counts

    async def _count(self, terms: list[str]) -> tuple[tuple[int, int], dict[tuple[str, int], int]]:
        """((floor, papers above it), {(term, floor): papers above it holding the term}), kept
        when the index is still in the state this search began with, and settled."""
        row = (await self._planned(
            f"WITH f AS (SELECT COALESCE(MAX(id), 0) - $1 AS floor FROM papers) SELECT {_VERSION_SQL},"  # noqa: S608
            " (SELECT floor FROM f) AS floor,"
            " (SELECT count(*) FROM papers WHERE id > (SELECT floor FROM f)) AS total,"
            " ARRAY(SELECT (SELECT count(*) FROM papers WHERE id > (SELECT floor FROM f) AND search @@ q::tsquery)"
            "       FROM unnest($2::text[]) WITH ORDINALITY AS u(q, i) ORDER BY i) AS docs",
            (fts.IDF_SAMPLE, terms)))[0]
        floor = int(row["floor"])
        sample = (floor, int(row["total"]))
        found = {(q, floor): int(n) for q, n in zip(terms, row["docs"], strict=True)}
        kept = self.kept
        if row["version"] == kept.version and row["settled"] and kept is _kept.get(self.db):
            if kept.sample != sample:
                kept.counts.clear()
            if len(kept.counts) >= MAX_KEPT:
                kept.counts.clear()
            kept.sample = sample
            kept.counts.update(found)
        return sample, found

    async def hits(self, query: Query, page: Sequence[Candidate]) -> list[SearchHit]:
        if not page:
            return []
        positive = query.positive_terms()
        # Marks: every positive term in the title; in the abstract, those not limited to titles.
        title_q = " | ".join(term_source(_anywhere(t)) for t in positive)
        abstract_q = " | ".join(term_source(t) for t in positive if not t.title_only)
        ids = [c.id for c in page]
        rows = await self.db.fetchall(
            f"SELECT p.id, p.arxiv_id, p.title, p.links, ts_headline('{CONFIG}', p.title, tq, $4) AS marked_title,"  # noqa: S608
            f" CASE WHEN $3 = '' THEN left(p.abstract, $5)"
            f" ELSE ts_headline('{CONFIG}', left(p.abstract, $5), aq, $4) END AS marked_abstract"
            f" FROM papers AS p, to_tsquery('{CONFIG}', $2) AS tq, to_tsquery('{CONFIG}', $3) AS aq"
            " WHERE p.id = ANY($1::bigint[])",
            (ids, title_q, abstract_q, _HEADLINE, fts.MARK_CHARS))
        papers = {r["id"]: PaperText(r["id"], r["arxiv_id"], r["title"], r["links"]) for r in rows}
        marked = {r["id"]: (unmark(r["marked_title"]), snippet(unmark(r["marked_abstract"]), fts.SNIPPET_TOKENS))
                  for r in rows}
        listings = await self.db.fetchall(
            "SELECT e.paper_id, d.date, d.source FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
            " WHERE e.paper_id = ANY($1::bigint[]) ORDER BY d.date, d.source COLLATE \"C\"", (ids,))
        return build_hits(page, papers, marked, [(r[0], r[1], r[2]) for r in listings])


def snippet(marked: Marked, size: int, ellipsis: str = "…") -> Marked:
    """At most `size` words of `marked` around its marks, as FTS5's snippet() cuts: the window
    holding the most distinct marked words (the earliest of equals), an ellipsis where text was
    cut, the whole text when it is short."""
    text = marked.text
    words = [m.span() for m in _WORD.finditer(text)]
    if len(words) <= size:
        return marked
    starts = [w[0] for w in words]
    at = [max(bisect.bisect_right(starts, s) - 1, 0) for s, _ in marked.spans]
    best, best_score = 0, -1
    for first in sorted({0, *(max(0, i - size // 4) for i in at)}):
        first = min(first, len(words) - size)
        inside = {text[s:e].lower() for (s, e), i in zip(marked.spans, at, strict=True) if first <= i < first + size}
        if len(inside) > best_score:
            best, best_score = first, len(inside)
    start = 0 if best == 0 else words[best][0]
    last = best + size - 1
    end = len(text) if last >= len(words) - 1 else words[last][1]
    head = ellipsis if start > 0 else ""
    tail = ellipsis if end < len(text) else ""
    shift = len(head) - start
    spans = tuple((max(s, start) + shift, min(e, end) + shift) for s, e in marked.spans if s < end and e > start)
    return Marked(head + text[start:end] + tail, spans)


@fts.searcher.register(PostgresDatabase)
async def searcher(db: PostgresDatabase, query: Query) -> TsSearcher:
    compiled, row = await _compile(db, query, ", (SELECT MAX(date) FROM digests) AS reference,"
                                   " (SELECT max(xid)::text FROM search_versions) AS version")
    return TsSearcher(db, query, compiled, row["reference"] or dt.date.today(), row["version"])


@fts.matching_ids.register(PostgresDatabase)
async def matching_ids(db: PostgresDatabase, query: Query, paper_ids: Sequence[int]) -> set[int]:
    if not paper_ids:
        return set()
    rows = await db.fetchall(
        f"SELECT id FROM papers WHERE id = ANY($1::bigint[]) AND search @@ to_tsquery('{CONFIG}', $2)",  # noqa: S608
        (list(paper_ids), tsquery_source(query)))
    return {r["id"] for r in rows}
