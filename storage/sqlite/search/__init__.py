"""storage/search/fts.py on SQLite: FTS5's papers_fts, walked newest-first.

Why not FTS5's bm25(): it first counts every document holding each phrase, to get the idf, which
costs a full doclist scan per phrase ("model", or any common phrase) before any row is scored,
and `ORDER BY rank` then adds work for every matching row. Walking matches newest-first
(`ORDER BY rowid DESC LIMIT n`) stops after n rows, and FTS5's highlight() shows which title
words matched without any idf. Each term's idf is estimated from its share of the newest
IDF_SAMPLE papers (a rowid-range count, cheap, and kept until the index changes). FTS5 cannot
look up a given set of rowids cheaply (`rowid IN (...)` with MATCH re-reads the doclists), so the
candidates are always walks of the index. FTS5 reads the whole doclist of a prefix before its
first row, so a prefix term is written as the indexed words it matches where that means the same
(index_cache), and the page's titles and snippets are marked on the page's papers alone
(scratch).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from storage.search import fts
from storage.search.fts import (
    CLOSE,
    OPEN,
    SPAN,
    Candidate,
    Match,
    PaperText,
    SearchFilters,
    SearchHit,
    bounded,
    build_hits,
    idf_of,
    in_title,
    title_words,
    unmark,
)
from storage.search.query import Query, QueryError, Term
from storage.sqlite.db import SqliteDatabase
from storage.sqlite.search import index_cache, scratch
from storage.sqlite.search.index_cache import IndexState

log = logging.getLogger(__name__)


async def _fts(db: SqliteDatabase, sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
    """Run an FTS5 query; a MATCH syntax error would be our bug, never shown as a traceback."""
    try:
        return await db.fetchall(sql, params)
    except sqlite3.OperationalError as exc:
        _raise_if_rejected(params.get("q"), exc)
        raise


def _raise_if_rejected(match: object, exc: sqlite3.OperationalError) -> None:
    """A MATCH expression FTS5 rejected would be our bug: logged, and a QueryError for the user."""
    if "fts5" in str(exc).lower() or "match" in str(exc).lower():
        log.error("FTS5 rejected %r: %s", match, exc)
        raise QueryError("could not search for that; try plain words") from exc


async def _filter_bounds(db: SqliteDatabase, filters: SearchFilters) -> tuple[int, int] | None:
    """The smallest and largest paper id listed by the digests the filters select.

    FTS5 takes rowid ranges natively, so a date filter over a recent week skips the doclists of
    older papers instead of testing each match. None when no digest matches the filters.
    """
    low, high = filters.date_range()
    row = await db.fetchone(
        "SELECT MIN((SELECT MIN(paper_id) FROM digest_entries WHERE digest_id = d.id)) AS lo,"
        " MAX((SELECT MAX(paper_id) FROM digest_entries WHERE digest_id = d.id)) AS hi"
        " FROM digests AS d WHERE d.date BETWEEN ? AND ? AND (? IS NULL OR d.source = ?)",
        (low, high, filters.source, filters.source),
    )
    if row is None or row["lo"] is None:
        return None
    return int(row["lo"]), int(row["hi"])


_LISTED_IN = (
    " AND EXISTS (SELECT 1 FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
    " WHERE e.paper_id = papers_fts.rowid AND d.date BETWEEN :low AND :high"
    " AND (:source IS NULL OR d.source = :source))"
)


class FtsSearcher:
    """One search on papers_fts, with what the index state keeps (prefix expansions, idf counts)."""

    def __init__(self, db: SqliteDatabase, reference: dt.date, state: IndexState) -> None:
        self.db = db
        self.reference = reference
        self.state = state
        self._titled: tuple[Query, list[Match]] | None = None  # a one-clause query's title walk

    async def expansions(self, query: Query) -> dict[Term, tuple[str, ...] | None]:
        return {t: await index_cache.expansion(self.db, self.state, t) for t in query.positive_terms() + query.excluded}

    async def candidates(self, query: Query, filters: SearchFilters) -> list[Match] | None:
        """(id, title terms, title words, first_listed) of the WINDOW + 1 newest matches; None when
        the filters select no digest. first_listed is None for a paper gone from papers (the LEFT
        JOIN keeps papers_fts the outer loop, walked newest-first and stopped early).

        highlight(), which reads each match's whole row through FTS5 and tokenises its title, is
        the costly part of a walk: a query of one clause (one word or phrase, or words joined by
        OR) is walked without it (`_one_clause`), others use it only for the matches whose title
        holds a term (`_title_holders_marked`)."""
        if self._titled is not None and self._titled[0] == query:
            return self._titled[1]  # the title walk `_one_clause` made
        walk = await self._walk_filters(filters)
        if walk is None:
            return None
        if in_title(query) == query:  # every match holds every clause in its title
            if _apart(query):
                return (await self._title_walk(query, *walk))[0]
            return await self._marked_walk(query, *walk)
        if len(query.required) == 1:
            return await self._one_clause(query, *walk)
        return await self._title_holders_marked(query, *walk)

    async def _walk_filters(self, filters: SearchFilters) -> tuple[dict[str, Any], str] | None:
        """A walk's parameters and WHERE tail for `filters`; None when they select no digest."""
        params: dict[str, Any] = {"limit": fts.WINDOW + 1, "lo": 0, "hi": 2**63 - 1, "open": OPEN, "close": CLOSE}
        if not filters.active():
            return params, ""
        bounds = await _filter_bounds(self.db, filters)
        if bounds is None:
            return None
        params["lo"], params["hi"] = bounds
        params["low"], params["high"] = filters.date_range()
        params["source"] = filters.source
        return params, _LISTED_IN

    async def _rows(self, query: Query, columns: str, params: dict[str, Any], where: str) -> list[sqlite3.Row]:
        """The newest matches of `query`: papers_fts.rowid AS id and `columns`, newest first."""
        return await _fts(
            self.db,
            f"SELECT papers_fts.rowid AS id, {columns}"  # noqa: S608
            " FROM papers_fts LEFT JOIN papers AS p ON p.id = papers_fts.rowid"
            f" WHERE papers_fts MATCH :q AND papers_fts.rowid BETWEEN :lo AND :hi{where}"
            " ORDER BY papers_fts.rowid DESC LIMIT :limit",
            {**params, "q": query.to_fts5(await self.expansions(query))},
        )

    async def _marked_walk(self, query: Query, params: dict[str, Any], where: str) -> list[Match]:
        """The walk with each title as highlight() marks it: the spans count the query's matches."""
        rows = await self._rows(query, "highlight(papers_fts, 0, :open, :close) AS title, p.first_listed",
                                params, where)
        return [(pid, *_title_counts(title), listed) for pid, title, listed in rows]

    async def _title_holders_marked(self, query: Query, params: dict[str, Any], where: str) -> list[Match]:
        """The walk, with highlight() only for the matches whose title holds a term of the query:
        the others have no span to count. Those are the matches, in the walk's range of ids, of
        the query restricted to such titles (Query.title_filter_fts5), whose marks in the title are
        the query's own (the restriction's terms are the query's, marked where they already are)."""
        rows = await self._rows(query, "p.first_listed", params, where)
        if not rows:
            return []
        holders = await _fts(
            self.db,
            "SELECT rowid, highlight(papers_fts, 0, :open, :close) FROM papers_fts"
            " WHERE papers_fts MATCH :q AND rowid BETWEEN :lo AND :hi",
            {"q": query.title_filter_fts5(await self.expansions(query)), "lo": rows[-1][0], "hi": rows[0][0],
             "open": OPEN, "close": CLOSE},
        )
        counts = {pid: _title_counts(title) for pid, title in holders}
        return [(pid, *counts.get(pid, (0, 1)), listed) for pid, listed in rows]

    async def _one_clause(self, query: Query, params: dict[str, Any], where: str) -> list[Match]:
        """The walk of a one-clause query, and its title walk (`fts.in_title`), kept for the search's
        next call, without highlight(): a match holds a term of the clause in its title exactly when
        the title walk finds it, and that walk reaches back past every such match among the
        WINDOW newest (they are the newest title matches, at most WINDOW). So a match's title terms
        (at most one clause: 0 or 1) and its title's words, which only count when it holds some,
        are those the title walk counted (`_title_walk`)."""
        titled_query = in_title(query)
        title_rows, counts = await self._title_walk(titled_query, params, where)
        self._titled = (titled_query, title_rows)
        rows = await self._rows(query, "p.first_listed", params, where)
        return [(pid, *counts.get(pid, (0, 1)), listed) for pid, listed in rows]

    async def _title_walk(self, query: Query, params: dict[str, Any],
                          where: str) -> tuple[list[Match], dict[int, tuple[int, int]]]:
        """The walk of a title-only query whose clauses never match the same word (`_apart`),
        without highlight(), and each match's (title terms, title words): every clause is in the
        title at words of its own, so highlight() would mark at least one span per clause, and the
        ranking counts no more than that. The titles come from papers; one that is not ASCII is
        marked as highlight() would mark it (scratch), so that its words are counted as there."""
        clauses = len(query.required)
        rows = await self._rows(query, "p.title, p.first_listed", params, where)
        counts = {pid: (clauses, _ascii_words(title))
                  for pid, title, _ in rows if title is not None and title.isascii()}
        others = [(pid, title, "") for pid, title, _ in rows if pid not in counts and title is not None]
        if others:
            marked = scratch.mark(query.to_fts5(), others, OPEN, CLOSE, "…", fts.SNIPPET_TOKENS)
            counts.update((pid, _title_counts(title)) for pid, (title, _) in marked.items())
        return [(pid, *counts.get(pid, (0, 1)), listed) for pid, _, listed in rows], counts

    async def idf(self, query: Query) -> list[float]:
        """Per required clause, the idf of its rarest term, estimated over the newest IDF_SAMPLE papers.

        The counts are kept until the index changes (index_cache): a frequent term is the costly
        one to count.
        """
        db, state = self.db, self.state
        expansions = await self.expansions(query)

        async def sample() -> tuple[int, int]:
            row = await db.fetchone("SELECT COALESCE(MAX(id), 0) AS top FROM papers")
            floor = (int(row["top"]) if row else 0) - fts.IDF_SAMPLE
            # The index's per-document rows (one a paper, kept by the triggers) are a few bytes each;
            # counting papers' own rows would read IDF_SAMPLE abstracts.
            row = await db.fetchone("SELECT COUNT(*) AS n FROM papers_fts_docsize WHERE id > ?", (floor,))
            return floor, int(row["n"]) if row else 0

        async def docs(term: Term) -> int:
            rows = await _fts(db, "SELECT COUNT(*) AS n FROM papers_fts WHERE papers_fts MATCH :q AND rowid > :floor",
                              {"q": term.to_fts5(expansion=expansions.get(term)), "floor": floor})
            return int(rows[0]["n"])

        floor, total = await index_cache.remember(db, state, ("idf sample", fts.IDF_SAMPLE), sample)
        found: dict[Term, float] = {}
        for term in dict.fromkeys(query.positive_terms()):
            n = await index_cache.remember(db, state, ("docs", term.to_fts5(), floor),
                                           functools.partial(docs, term))
            found[term] = idf_of(total, n)
        return [max(found[t] for t in clause.terms) for clause in query.required]

    async def hits(self, query: Query, page: Sequence[Candidate]) -> list[SearchHit]:
        if not page:
            return []
        db = self.db
        ids = json.dumps([c.id for c in page])
        # The papers and their listings ([date, source] pairs) in one statement: one trip to the
        # connection's thread, where each waits its turn while the event loop is busy.
        rows = await db.fetchall(
            "SELECT id, arxiv_id, title, substr(abstract, 1, ?) AS abstract, links,"
            " (SELECT json_group_array(json_array(d.date, d.source)) FROM digest_entries AS e"
            "  JOIN digests AS d ON d.id = e.digest_id WHERE e.paper_id = papers.id) AS listed"
            " FROM papers WHERE id IN (SELECT value FROM json_each(?))", (fts.MARK_CHARS + 1, ids))
        # Marked on the page's papers alone (scratch): the same marks as papers_fts gives, without
        # FTS5 merging a prefix's doclists over the whole archive first.
        match = query.to_fts5()
        try:
            found = scratch.mark(match, [(r["id"], r["title"], bounded(r["abstract"])) for r in rows],
                                 OPEN, CLOSE, "…", fts.SNIPPET_TOKENS)
        except sqlite3.OperationalError as exc:
            _raise_if_rejected(match, exc)
            raise
        papers = {r["id"]: PaperText(r["id"], r["arxiv_id"], r["title"], json.loads(r["links"])) for r in rows}
        marked = {pid: (unmark(title), unmark(snippet)) for pid, (title, snippet) in found.items()}
        listings = sorted(((r["id"], day, source) for r in rows for day, source in json.loads(r["listed"])),
                          key=lambda listing: (listing[1], listing[2]))  # oldest day first, then by source
        return build_hits(page, papers, marked, listings)


# Bytes that are not ASCII letters or digits, as spaces: what separates the words `fts.title_words`
# counts, in ASCII text.
_ASCII_WORDS = bytes(b if b < 128 and chr(b).isalnum() else 32 for b in range(256))
_ASCII = bytes(range(128))
_MARKS = (OPEN + CLOSE).encode()


def _apart(query: Query) -> bool:
    """Whether no word can match terms of two of the query's clauses: one clause, or clauses of
    whole words and phrases (no prefix) whose stems (papers_fts's tokenizer) differ."""
    if len(query.required) == 1:
        return True
    seen: set[str] = set()
    for clause in query.required:
        stems = {stem for term in clause.terms for stem in scratch.tokens(term.text)}
        if not stems or stems & seen or any(term.prefix for term in clause.terms):
            return False
        seen |= stems
    return True


def _ascii_words(title: str) -> int:
    """How many words an ASCII title has (`fts.title_words`, as `_title_counts` counts them)."""
    return max(len(title.encode().translate(_ASCII_WORDS).split()), 1)


def _title_counts(marked: str) -> tuple[int, int]:
    """How many query terms a title holds (the spans highlight() marked) and how many words it
    has (`fts.title_words`; 1 when it holds none: then unused).

    This runs for up to 2,002 rows a search, so a title that is ASCII apart from well-formed marks
    (what is left of its UTF-8 without the ASCII bytes is open, close, open, close...; none empty)
    takes a faster way to the same counts than the regexes: the marks count the spans, and the
    words are what is left between the bytes that are not letters or digits.
    """
    if OPEN not in marked:
        return 0, 1
    spans = marked.count(OPEN)
    raw = marked.encode()
    if raw.translate(None, _ASCII) == _MARKS * spans and OPEN + CLOSE not in marked:
        return spans, max(len(raw.translate(_ASCII_WORDS).split()), spans, 1)
    spans = len(SPAN.findall(marked))
    return spans, title_words(marked, spans) if spans else 1


@fts.searcher.register(SqliteDatabase)
async def searcher(db: SqliteDatabase, query: Query) -> FtsSearcher:
    row = await db.fetchone(f"SELECT (SELECT MAX(date) FROM digests) AS d, {index_cache.VERSION_SQL} AS v")  # noqa: S608
    reference = dt.date.fromisoformat(row["d"]) if row and row["d"] else dt.date.today()
    return FtsSearcher(db, reference, index_cache.state_for(db, row["v"] if row else None))


@fts.matching_ids.register(SqliteDatabase)
async def matching_ids(db: SqliteDatabase, query: Query, paper_ids: Sequence[int]) -> set[int]:
    if not paper_ids:
        return set()
    rows = await _fts(db, "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :q AND rowid BETWEEN :lo AND :hi",
                      {"q": query.to_fts5(), "lo": min(paper_ids), "hi": max(paper_ids)})
    return {r[0] for r in rows} & set(paper_ids)

