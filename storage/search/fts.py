"""Keyword search over papers_fts: filters, ranking (relevance balanced with recency), snippets, paging.

Ranking: score = relevance + a recency bonus of RECENCY_WEIGHT that halves every HALF_LIFE_DAYS
of a paper's age (its first listing, measured from the newest digest in the archive, so scores do
not drift with the wall clock). Ties go to the newer paper (higher id). Relevance is BM25-shaped:
each required clause adds its idf (rare words count more), every query term found in the
title adds TITLE_WEIGHT times the mean idf, so a title match beats an abstract mention, and the
share of the title's words that are the query's adds up to COVERAGE_WEIGHT times the mean idf
(BM25's length normalisation, on the title): a paper whose title is the words asked for beats a
newer one whose longer title merely contains them; a title that is exactly the words asked for
gains RECENCY_WEIGHT more, so no newer paper outranks it for recency alone. Relevance never grows with how often a word
repeats in the text, so a paper that repeats one word a million times gains nothing, and it costs
no more to rank: a match is scored from its marked title alone.

Why not FTS5's bm25(): it first counts every document holding each phrase, to get the idf, which
costs a full doclist scan per phrase ("model", or any common phrase) before any row is scored,
and `ORDER BY rank` then adds work for every matching row. Walking matches newest-first
(`ORDER BY rowid DESC LIMIT n`) stops after n rows, and FTS5's highlight() shows which title
words matched without any idf. So: take the WINDOW newest matches (paper ids grow as digests
load, so rowid order is close to recency) with their marked titles,
estimate each term's idf from its share of the newest IDF_SAMPLE papers (a rowid-range count,
cheap, and kept until the index changes), and rank in Python. When a query matches at most
WINDOW papers (rare words, phrases, filtered searches) that is every match and the ranking is
exact; beyond it the terms are frequent, their idf is small, recency leads anyway, and
`SearchPage.exact` is False; then the WINDOW newest matches holding every clause in the title
are ranked too (a second newest-first walk, `title : ...` on every clause), so the paper asked for
by its title words is found whatever its age: under this ranking those are the best matches, and
recency only orders papers equally relevant. FTS5 cannot look up a given set of rowids cheaply
(`rowid IN (...)` with MATCH re-reads the doclists), so the
candidates are always walks of the index. FTS5 reads the whole doclist of a prefix before its first
row, so a prefix term is written as the indexed words it matches where that means the same
(storage.search.index_cache), and the page's titles and snippets are marked on the page's papers
alone (storage.search.scratch).

Paging is keyset on (score, id) with the recency reference pinned in the cursor, so walking pages
never repeats a paper; the cursor also carries a fingerprint of the query and filters.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import logging
import math
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from storage.db import Database
from storage.search import index_cache, scratch
from storage.search.index_cache import IndexState
from storage.search.query import AnyOf, Query, QueryError, Term

log = logging.getLogger(__name__)

TITLE_WEIGHT = 10.0
COVERAGE_WEIGHT = 5.0  # times the mean idf, for a title made of the query's words alone
ABSTRACT_WEIGHT = 1.0
RECENCY_WEIGHT = 3.0  # a brand-new paper gains this much over a very old one
HALF_LIFE_DAYS = 180.0
WINDOW = 1000  # matches ranked per search; also where counting stops ("1000+")
IDF_SAMPLE = 20_000  # the newest papers whose term counts estimate idf
SNIPPET_TOKENS = 24
MAX_LIMIT = 100
MARK_CHARS = 4000  # abstract text marked for a snippet: all of any real abstract (arXiv caps them at 1,920)

# Private-use characters as match markers: they never occur in real abstracts and no renderer
# gives them a meaning, so the abstract's own markdown cannot collide with the marking.
_OPEN, _CLOSE = "\ue000", "\ue001"
_WORD = re.compile(r"[^\W_]+")
_SPAN = re.compile(f"{_OPEN}[^{_OPEN}{_CLOSE}]+{_CLOSE}")  # a span unmark() keeps: open, text, close


class CursorError(QueryError):
    """A page cursor that does not belong to this search (or was mangled)."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Only papers listed in a digest matching all of these (dates inclusive)."""

    since: dt.date | None = None
    until: dt.date | None = None
    date: dt.date | None = None
    source: str | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.since, self.until, self.date, self.source))

    def date_range(self) -> tuple[str, str]:
        lows = [d for d in (self.since, self.date) if d]
        highs = [d for d in (self.until, self.date) if d]
        return (max(lows).isoformat() if lows else "0000-00-00",
                min(highs).isoformat() if highs else "9999-99-99")


@dataclass(frozen=True, slots=True)
class Marked:
    """Text with the matched words located: `spans` are [start, end) offsets into `text`."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class HitListing:
    date: dt.date
    source: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper_id: int
    arxiv_id: str | None
    title: Marked
    snippet: Marked  # a short extract of the abstract
    links: dict[str, str]
    listings: tuple[HitListing, ...]  # oldest first
    first_listed: dt.date
    score: float
    relevance: float  # the part of the score that is not recency (higher is better)


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    count: int  # matches found; a lower bound when `count_is_lower_bound`
    count_is_lower_bound: bool
    next_cursor: str | None
    exact: bool  # every match was ranked (False: the WINDOW newest were)
    reference_date: dt.date | None = field(default=None)  # recency is measured from here


@dataclass(frozen=True, slots=True)
class _Candidate:
    id: int
    relevance: float
    first_listed: dt.date
    score: float


def unmark(marked: str) -> Marked:
    """Split FTS5 highlight()/snippet() output into plain text and the spans between markers."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    start: int | None = None
    pos = 0
    for ch in marked:
        if ch == _OPEN:
            start = pos
        elif ch == _CLOSE:
            if start is not None and pos > start:
                spans.append((start, pos))
            start = None
        else:
            out.append(ch)
            pos += 1
    return Marked("".join(out), tuple(spans))


def _fingerprint(query: Query, filters: SearchFilters) -> str:
    key = json.dumps([query.to_fts5(), filters.date_range(), filters.source])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def encode_cursor(query: Query, filters: SearchFilters, reference: dt.date, after: _Candidate) -> str:
    data = {"q": _fingerprint(query, filters), "r": reference.isoformat(), "s": after.score, "i": after.id}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, query: Query, filters: SearchFilters) -> tuple[dt.date, float, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        reference, score, after_id = dt.date.fromisoformat(data["r"]), float(data["s"]), int(data["i"])
        fingerprint = data["q"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise CursorError("that page cursor is not valid; search again") from None
    if fingerprint != _fingerprint(query, filters):
        raise CursorError("that page cursor belongs to a different search") from None
    return reference, score, after_id


def _recency(first_listed: dt.date, reference: dt.date) -> float:
    age = max((reference - first_listed).days, 0)
    return RECENCY_WEIGHT * math.pow(0.5, age / HALF_LIFE_DAYS)


async def _fts(db: Database, sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
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


async def _filter_bounds(db: Database, filters: SearchFilters) -> tuple[int, int] | None:
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


def _in_title(query: Query) -> Query:
    """`query` with every positive term looked for in titles only."""
    return Query(tuple(AnyOf(tuple(replace(t, title_only=True) for t in c.terms)) for c in query.required),
                 query.excluded)


async def _candidates(db: Database, match: str, filters: SearchFilters) -> list[sqlite3.Row] | None:
    """(id, marked title, first_listed) of the WINDOW + 1 newest matches of the MATCH expression
    `match`; None when the filters select no digest. first_listed is NULL for a paper gone from
    papers (the LEFT JOIN keeps papers_fts the outer loop, walked newest-first and stopped early)."""
    params: dict[str, Any] = {"q": match, "limit": WINDOW + 1, "lo": 0, "hi": 2**63 - 1,
                              "open": _OPEN, "close": _CLOSE}
    where = ""
    if filters.active():
        bounds = await _filter_bounds(db, filters)
        if bounds is None:
            return None
        params["lo"], params["hi"] = bounds
        params["low"], params["high"] = filters.date_range()
        params["source"] = filters.source
        where = _LISTED_IN
    return await _fts(
        db,
        "SELECT papers_fts.rowid AS id, highlight(papers_fts, 0, :open, :close) AS title, p.first_listed"  # noqa: S608
        " FROM papers_fts LEFT JOIN papers AS p ON p.id = papers_fts.rowid"
        f" WHERE papers_fts MATCH :q AND papers_fts.rowid BETWEEN :lo AND :hi{where}"
        " ORDER BY papers_fts.rowid DESC LIMIT :limit",
        params,
    )


async def _idf(db: Database, state: IndexState, query: Query,
               expansions: Mapping[Term, tuple[str, ...] | None]) -> list[float]:
    """Per required clause, the idf of its rarest term, estimated over the newest IDF_SAMPLE papers.

    Lucene's non-negative form ln(1 + (N - n + 0.5) / (n + 0.5)): a word in every paper still
    counts a little, unlike FTS5's clamp to zero. The counts are kept until the index changes
    (storage.search.index_cache): a frequent term is the costly one to count.
    """
    async def sample() -> tuple[int, int]:
        row = await db.fetchone("SELECT COALESCE(MAX(id), 0) AS top FROM papers")
        floor = (int(row["top"]) if row else 0) - IDF_SAMPLE
        # The index's per-document rows (one a paper, kept by the triggers) are a few bytes each;
        # counting papers' own rows would read IDF_SAMPLE abstracts.
        row = await db.fetchone("SELECT COUNT(*) AS n FROM papers_fts_docsize WHERE id > ?", (floor,))
        return floor, int(row["n"]) if row else 0

    async def docs(term: Term) -> int:
        rows = await _fts(db, "SELECT COUNT(*) AS n FROM papers_fts WHERE papers_fts MATCH :q AND rowid > :floor",
                          {"q": term.to_fts5(expansion=expansions.get(term)), "floor": floor})
        return int(rows[0]["n"])

    floor, total = await index_cache.remember(db, state, ("idf sample", IDF_SAMPLE), sample)
    found: dict[Term, float] = {}
    for term in dict.fromkeys(query.positive_terms()):
        n = await index_cache.remember(db, state, ("docs", term.to_fts5(), floor), functools.partial(docs, term))
        found[term] = math.log(1 + (total - n + 0.5) / (n + 0.5))
    return [max(found[t] for t in clause.terms) for clause in query.required]


def _relevance(idf: list[float], marked_title: str) -> float:
    # As len(unmark(marked_title).spans), without building the text: 1000 titles a search.
    spans = len(_SPAN.findall(marked_title))
    return _relevance_of(idf, min(spans, len(idf)), _title_words(marked_title, spans))


def _title_words(marked_title: str, spans: int) -> int:
    """How many words the title has (runs of letters and digits, as FTS5 splits; at least its
    matched spans)."""
    return max(len(_WORD.findall(marked_title)), spans, 1)


def _relevance_of(idf: list[float], in_title: int, title_words: int = 1) -> float:
    """The relevance of a match with `in_title` of the query's terms found in its title of about
    `title_words` words."""
    mean = sum(idf) / len(idf)
    coverage = min(in_title / title_words, 1.0)
    whole = RECENCY_WEIGHT if in_title == len(idf) and coverage == 1.0 else 0.0
    return ABSTRACT_WEIGHT * sum(idf) + TITLE_WEIGHT * in_title * mean + COVERAGE_WEIGHT * coverage * mean + whole


def _rank(rows: Sequence[sqlite3.Row], idf: list[float], reference: dt.date,
          after: tuple[float, int] | None) -> list[tuple[float, int, float, str]]:
    """(-score, -id, relevance, first_listed) of the candidates, best first, those after `after`.

    This runs on the event loop for up to 2 * WINDOW rows a search, which 20 concurrent
    interactions share, so it is kept lean (the same floats as _relevance plus _recency, per row):
    the relevance takes one value per count of title matches and title length, and the recency
    bonus one per listing date, so both are computed once; rows are read by position, and _Candidate
    objects are built by the caller for the page alone.
    """
    terms = len(idf)
    by_count: dict[tuple[int, int], float] = {}
    nothing_in_title = _relevance_of(idf, 0)
    bonus: dict[str, float] = {}
    findall = _SPAN.findall
    ranked: list[tuple[float, int, float, str]] = []
    for pid, title, listed in rows:
        if listed is None:
            continue  # gone from papers since the match
        if _OPEN in title:
            spans = len(findall(title))
            key = (min(spans, terms), _title_words(title, spans))
            relevance = by_count.get(key) or by_count.setdefault(key, _relevance_of(idf, *key))
        else:
            relevance = nothing_in_title
        recency = bonus.get(listed)
        if recency is None:
            recency = bonus[listed] = _recency(dt.date.fromisoformat(listed), reference)
        ranked.append((-(relevance + recency), -pid, relevance, listed))
    ranked.sort()
    if after is not None:
        a_score, a_id = after
        ranked = [r for r in ranked if -r[0] < a_score or (-r[0] == a_score and -r[1] < a_id)]
    return ranked


async def _reference_and_index(db: Database) -> tuple[dt.date, IndexState]:
    """The recency reference (the newest digest's date) and what is kept for the index's state."""
    row = await db.fetchone(f"SELECT (SELECT MAX(date) FROM digests) AS d, {index_cache.VERSION_SQL} AS v")  # noqa: S608
    reference = dt.date.fromisoformat(row["d"]) if row and row["d"] else dt.date.today()
    return reference, index_cache.state_for(db, row["v"] if row else None)


async def search(db: Database, query: Query, filters: SearchFilters | None = None, *,
                 limit: int = 10, cursor: str | None = None) -> SearchPage:
    """One page of the best matches for `query`, best first."""
    filters = filters or SearchFilters()
    limit = max(1, min(limit, MAX_LIMIT))
    after: tuple[float, int] | None = None
    reference, state = await _reference_and_index(db)
    if cursor:
        reference, score, after_id = decode_cursor(cursor, query, filters)
        after = (score, after_id)
    expansions = {t: await index_cache.expansion(db, state, t) for t in query.positive_terms() + query.excluded}
    rows = await _candidates(db, query.to_fts5(expansions), filters)
    if not rows:
        return SearchPage([], 0, False, None, True, reference)
    exact = len(rows) <= WINDOW
    count = len(rows) - (not exact)
    in_title = _in_title(query)
    if not exact and in_title != query:  # a title-only query's own walk was this one
        titled = await _candidates(db, in_title.to_fts5({**expansions, **{
            replace(t, title_only=True): expansions.get(t) for t in query.positive_terms()}}), filters)
        seen = {r[0] for r in rows[:WINDOW]}
        rows = rows[:WINDOW] + [r for r in (titled or [])[:WINDOW] if r[0] not in seen]
    idf = await _idf(db, state, query, expansions)
    ranked = _rank(rows, idf, reference, after)
    page = [_Candidate(-neg_id, relevance, dt.date.fromisoformat(listed), -neg_score)
            for neg_score, neg_id, relevance, listed in ranked[:limit]]
    next_cursor = encode_cursor(query, filters, reference, page[-1]) if len(ranked) > limit else None
    hits = await _hits(db, query, page)
    return SearchPage(hits, count, not exact, next_cursor, exact, reference)


async def _hits(db: Database, query: Query, page: list[_Candidate]) -> list[SearchHit]:
    if not page:
        return []
    ids = json.dumps([c.id for c in page])
    papers = {r["id"]: r for r in await db.fetchall(
        "SELECT id, arxiv_id, title, substr(abstract, 1, ?) AS abstract, links FROM papers"
        " WHERE id IN (SELECT value FROM json_each(?))", (MARK_CHARS + 1, ids))}
    # Marked on the page's papers alone (storage.search.scratch): the same marks as papers_fts
    # gives, without FTS5 merging a prefix's doclists over the whole archive first.
    match = query.to_fts5()
    try:
        found = scratch.mark(match, [(p["id"], p["title"], _bounded(p["abstract"])) for p in papers.values()],
                             _OPEN, _CLOSE, "…", SNIPPET_TOKENS)
    except sqlite3.OperationalError as exc:
        _raise_if_rejected(match, exc)
        raise
    marked = {pid: (unmark(title), unmark(snippet)) for pid, (title, snippet) in found.items()}
    listings: dict[int, list[HitListing]] = {c.id: [] for c in page}
    for r in await db.fetchall(
        "SELECT e.paper_id, d.date, d.source FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
        " WHERE e.paper_id IN (SELECT value FROM json_each(?)) ORDER BY d.date, d.source",
        (ids,),
    ):
        listings[r["paper_id"]].append(HitListing(dt.date.fromisoformat(r["date"]), r["source"]))
    hits = []
    for c in page:
        p = papers.get(c.id)
        if p is None:
            continue  # deleted between the two queries
        title, snippet = marked.get(c.id, (Marked(p["title"]), Marked("")))
        hits.append(SearchHit(c.id, p["arxiv_id"], title, snippet, json.loads(p["links"]),
                              tuple(listings[c.id]), c.first_listed, round(c.score, 6), round(c.relevance, 6)))
    return hits


def _bounded(abstract: str) -> str:
    """The head of `abstract` a snippet is taken from: FTS5's snippet() costs about the square of
    the matches in the text it is given (an abstract that repeats one word), so it is given at
    most MARK_CHARS, cut at a space: all of any real abstract."""
    if len(abstract) <= MARK_CHARS:
        return abstract
    head = abstract[:MARK_CHARS]
    cut = head.rfind(" ")
    return head[:cut] if cut > MARK_CHARS // 2 else head


async def matching_ids(db: Database, query: Query, paper_ids: Sequence[int]) -> set[int]:
    """Which of `paper_ids` match `query`, with search's tokenizer and stemming (for topics).

    One pass over the id range, not one query per id: a digest's papers are mostly consecutive
    new ids, and walking matches without scoring them is cheap even over a wide range.
    """
    if not paper_ids:
        return set()
    rows = await _fts(db, "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :q AND rowid BETWEEN :lo AND :hi",
                      {"q": query.to_fts5(), "lo": min(paper_ids), "hi": max(paper_ids)})
    return {r[0] for r in rows} & set(paper_ids)
