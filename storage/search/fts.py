"""Keyword search over the archive, on either backend: filters, ranking (relevance balanced with
recency), snippets, paging. The SQL is the backend's: storage/sqlite/search/ (FTS5) and
storage/postgres/search.py (a weighted tsvector with GIN); this module holds what they share.

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
no more to rank: a match is scored from what its title holds alone.

The candidate policy, the same on both backends: ranking every match of a frequent word costs a
full posting-list scan before any row is scored (FTS5's bm25(), PostgreSQL's ts_rank), while
walking matches newest-first (paper ids grow as digests load, so id order is close to recency)
stops after WINDOW rows. So: take the WINDOW newest matches, estimate each term's idf from its
share of the newest IDF_SAMPLE papers, and rank in Python. When a query matches at most WINDOW
papers (rare words, phrases, filtered searches) that is every match and the ranking is exact;
beyond it the terms are frequent, their idf is small, recency leads anyway, and
`SearchPage.exact` is False; then the WINDOW newest matches holding every clause in the title
are ranked too (a second newest-first walk, every clause title-only), so the paper asked for by
its title words is found whatever its age: under this ranking those are the best matches, and
recency only orders papers equally relevant.

Paging is keyset on (score, id) with the recency reference pinned in the cursor, so walking pages
never repeats a paper; the cursor also carries a fingerprint of the query and filters.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from storage.db import Database
from storage.dispatch import per_backend
from storage.search.query import AnyOf, Query, QueryError

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
OPEN, CLOSE = "\ue000", "\ue001"
_WORD = re.compile(r"[^\W_]+")
SPAN = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]+{CLOSE}")  # a span unmark() keeps: open, text, close


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

    def day_range(self) -> tuple[dt.date, dt.date]:
        """`date_range()` as dates, for a backend that compares dates as dates."""
        lows = [d for d in (self.since, self.date) if d]
        highs = [d for d in (self.until, self.date) if d]
        return (max(lows) if lows else dt.date.min, min(highs) if highs else dt.date.max)


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
class Candidate:
    """A ranked match on the page: what the backend is asked to show."""

    id: int
    relevance: float
    first_listed: dt.date
    score: float


# One match of a candidate walk, newest first: (paper id, how many query terms its title holds,
# how many words its title has, first listed: a date or its ISO text; None for a paper deleted
# since the match).
Match = tuple[int, int, int, "dt.date | str | None"]


@dataclass(frozen=True, slots=True)
class PaperText:
    """What a hit shows of a paper, as stored."""

    id: int
    arxiv_id: str | None
    title: str
    links: dict[str, str]


class Searcher(Protocol):
    """One search's access to the backend's index (storage/sqlite/search, storage/postgres/search)."""

    reference: dt.date  # the newest digest's date: recency is measured from it

    async def candidates(self, query: Query, filters: SearchFilters) -> list[Match] | None:
        """The WINDOW + 1 newest matches of `query` within `filters`; None when the filters select
        no digest."""

    async def idf(self, query: Query) -> list[float]:
        """Per required clause, the idf of its rarest term over the newest IDF_SAMPLE papers."""

    async def hits(self, query: Query, page: Sequence[Candidate]) -> list[SearchHit]:
        """The page's candidates as hits, in order, their titles and snippets marked."""


@per_backend
async def searcher(db: Database, query: Query) -> Searcher:
    """What one search of `query` reads the backend through."""
    raise NotImplementedError


@per_backend
async def matching_ids(db: Database, query: Query, paper_ids: Sequence[int]) -> set[int]:
    """Which of `paper_ids` match `query`, with search's tokenizer and stemming (for topics).

    One pass over the id range, not one query per id: a digest's papers are mostly consecutive
    new ids, and walking matches without scoring them is cheap even over a wide range.
    """
    raise NotImplementedError


def unmark(marked: str) -> Marked:
    """Split text marked with OPEN/CLOSE (FTS5's highlight(), PostgreSQL's ts_headline()) into
    plain text and the spans between markers."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    start: int | None = None
    pos = 0
    for ch in marked:
        if ch == OPEN:
            start = pos
        elif ch == CLOSE:
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


def encode_cursor(query: Query, filters: SearchFilters, reference: dt.date, after: Candidate) -> str:
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


def as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def in_title(query: Query) -> Query:
    """`query` with every positive term looked for in titles only."""
    return Query(tuple(AnyOf(tuple(replace(t, title_only=True) for t in c.terms)) for c in query.required),
                 query.excluded)



def idf_of(total: int, docs: int) -> float:
    """Lucene's non-negative idf, ln(1 + (N - n + 0.5) / (n + 0.5)): a word in every paper still
    counts a little, unlike FTS5's clamp to zero."""
    return math.log(1 + (total - docs + 0.5) / (docs + 0.5))


def _relevance(idf: list[float], marked_title: str) -> float:
    # As len(unmark(marked_title).spans), without building the text: 1000 titles a search.
    spans = len(SPAN.findall(marked_title))
    return _relevance_of(idf, min(spans, len(idf)), _title_words(marked_title, spans))


def _title_words(marked_title: str, spans: int) -> int:
    """How many words the title has (runs of letters and digits, as FTS5 splits; at least its
    matched spans)."""
    return max(len(_WORD.findall(marked_title)), spans, 1)


def title_words(title: str, found: int) -> int:
    """How many words `title` has, for a title holding `found` of the query's terms."""
    return _title_words(title, found)


def _relevance_of(idf: list[float], in_title: int, title_words: int = 1) -> float:
    """The relevance of a match with `in_title` of the query's terms found in its title of about
    `title_words` words."""
    mean = sum(idf) / len(idf)
    coverage = min(in_title / title_words, 1.0)
    whole = RECENCY_WEIGHT if in_title == len(idf) and coverage == 1.0 else 0.0
    return ABSTRACT_WEIGHT * sum(idf) + TITLE_WEIGHT * in_title * mean + COVERAGE_WEIGHT * coverage * mean + whole


def _rank(rows: Iterable[Match], idf: list[float], reference: dt.date,
          after: tuple[float, int] | None) -> list[tuple[float, int, float, dt.date | str]]:
    """(-score, -id, relevance, first_listed) of the candidates, best first, those after `after`.

    This runs on the event loop for up to 2 * WINDOW rows a search, which 20 concurrent
    interactions share, so it is kept lean: the relevance takes one value per count of title
    matches and title length, and the recency bonus one per listing date, so both are computed
    once; Candidate objects are built by the caller for the page alone.
    """
    terms = len(idf)
    by_count: dict[tuple[int, int], float] = {}
    nothing_in_title = _relevance_of(idf, 0)
    bonus: dict[dt.date | str, float] = {}
    ranked: list[tuple[float, int, float, dt.date | str]] = []
    for pid, found, words, listed in rows:
        if listed is None:
            continue  # gone from papers since the match
        if found:
            key = (min(found, terms), words)
            relevance = by_count.get(key) or by_count.setdefault(key, _relevance_of(idf, *key))
        else:
            relevance = nothing_in_title
        recency = bonus.get(listed)
        if recency is None:
            recency = bonus[listed] = _recency(as_date(listed), reference)
        ranked.append((-(relevance + recency), -pid, relevance, listed))
    ranked.sort()
    if after is not None:
        a_score, a_id = after
        ranked = [r for r in ranked if -r[0] < a_score or (-r[0] == a_score and -r[1] < a_id)]
    return ranked


async def search(db: Database, query: Query, filters: SearchFilters | None = None, *,
                 limit: int = 10, cursor: str | None = None) -> SearchPage:
    """One page of the best matches for `query`, best first."""
    filters = filters or SearchFilters()
    limit = max(1, min(limit, MAX_LIMIT))
    after: tuple[float, int] | None = None
    index = await searcher(db, query)
    reference = index.reference
    if cursor:
        reference, score, after_id = decode_cursor(cursor, query, filters)
        after = (score, after_id)
    rows = await index.candidates(query, filters)
    if not rows:
        return SearchPage([], 0, False, None, True, reference)
    exact = len(rows) <= WINDOW
    count = len(rows) - (not exact)
    titled_query = in_title(query)
    if not exact and titled_query != query:  # a title-only query's own walk was this one
        titled = await index.candidates(titled_query, filters)
        seen = {r[0] for r in rows[:WINDOW]}
        rows = rows[:WINDOW] + [r for r in (titled or [])[:WINDOW] if r[0] not in seen]
    idf = await index.idf(query)
    ranked = _rank(rows, idf, reference, after)
    page = [Candidate(-neg_id, relevance, as_date(listed), -neg_score)
            for neg_score, neg_id, relevance, listed in ranked[:limit]]
    next_cursor = encode_cursor(query, filters, reference, page[-1]) if len(ranked) > limit else None
    hits = await index.hits(query, page)
    return SearchPage(hits, count, not exact, next_cursor, exact, reference)


def build_hits(page: Sequence[Candidate], papers: Mapping[int, PaperText],
               marked: Mapping[int, tuple[Marked, Marked]],
               listings: Iterable[tuple[int, dt.date | str, str]]) -> list[SearchHit]:
    """The page's hits from what the backend read: its papers, their marked titles and snippets,
    and their listings (paper id, date, source) oldest first."""
    listed: dict[int, list[HitListing]] = {c.id: [] for c in page}
    for paper_id, date, source in listings:
        listed[paper_id].append(HitListing(as_date(date), source))
    hits = []
    for c in page:
        p = papers.get(c.id)
        if p is None:
            continue  # deleted between the two queries
        title, snippet = marked.get(c.id, (Marked(p.title), Marked("")))
        hits.append(SearchHit(c.id, p.arxiv_id, title, snippet, p.links, tuple(listed[c.id]), c.first_listed,
                              round(c.score, 6), round(c.relevance, 6)))
    return hits


def bounded(abstract: str) -> str:
    """The head of `abstract` a snippet is taken from: making a snippet costs about the square of
    the matches in the text it is given (an abstract that repeats one word), so it is given at
    most MARK_CHARS, cut at a space: all of any real abstract."""
    if len(abstract) <= MARK_CHARS:
        return abstract
    head = abstract[:MARK_CHARS]
    cut = head.rfind(" ")
    return head[:cut] if cut > MARK_CHARS // 2 else head


