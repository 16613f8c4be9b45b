"""The assistant's keyword search: user text and filters in, a plain `SearchResult` out.

Transports (the CLI, Discord, the console) render the result; matched words come as spans
(`Marked`), and `mark()` wraps them in whatever a renderer wants after it has escaped the
text its own way, so markdown inside an abstract never breaks the highlighting. A hit's title
comes as shown (`bot.display.titles`: TeX as Unicode), its spans moved onto that text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.display.titles import shown_marked
from storage.db import Database
from storage.search import QueryError, parse
from storage.search.fts import MAX_LIMIT, Marked, SearchFilters, SearchHit
from storage.search.fts import search as fts_search

__all__ = ["QueryError", "SearchFilters", "SearchHit", "SearchResult", "mark", "search"]


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str  # the query as understood, in canonical form (what a topic would store)
    hits: list[SearchHit]
    count: int
    count_is_lower_bound: bool
    next_cursor: str | None
    exact: bool

    @property
    def count_text(self) -> str:
        """"12", or "2,000+" when counting stopped early."""
        return f"{self.count:,}" + ("+" if self.count_is_lower_bound else "")


async def search(db: Database, text: str, filters: SearchFilters | None = None, *,
                 limit: int = 10, cursor: str | None = None) -> SearchResult:
    """Search the archive. Raises QueryError (a short message for the user) for unusable input."""
    filters = filters or SearchFilters()
    if filters.since and filters.until and filters.since > filters.until:
        raise QueryError(f"--since {filters.since} is after --until {filters.until}")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"the limit must be between 1 and {MAX_LIMIT}")
    query = parse(text)
    page = await fts_search(db, query, filters, limit=limit, cursor=cursor or None)
    hits = [replace(hit, title=shown_marked(hit.title)) for hit in page.hits]
    return SearchResult(str(query), hits, page.count, page.count_is_lower_bound, page.next_cursor, page.exact)


def mark(marked: Marked, open_: str, close: str, escape: Callable[[str], str] = lambda s: s) -> str:
    """`marked.text` with every match wrapped in open_/close; `escape` applies to the text between."""
    out: list[str] = []
    pos = 0
    for start, end in marked.spans:
        out.append(escape(marked.text[pos:start]))
        out.append(open_ + escape(marked.text[start:end]) + close)
        pos = end
    out.append(escape(marked.text[pos:]))
    return "".join(out)


def listing_dates(hit: SearchHit) -> list[dt.date]:
    """The distinct dates a hit was listed on, oldest first."""
    return sorted({listing.date for listing in hit.listings})


def result_json(text: str, result: SearchResult) -> dict[str, Any]:
    """A result as `paperboy search --json` and the web API's /api/search give it."""
    return {
        "query": text, "parsed": result.query, "count": result.count,
        "count_is_lower_bound": result.count_is_lower_bound, "exact": result.exact,
        "next_cursor": result.next_cursor,
        "hits": [{
            "paper_id": h.paper_id, "arxiv_id": h.arxiv_id, "title": h.title.text,
            "title_spans": [list(s) for s in h.title.spans],
            "dates": [d.isoformat() for d in listing_dates(h)],
            "sources": sorted({listing.source for listing in h.listings}),
            "score": h.score, "relevance": h.relevance,
            "snippet": h.snippet.text, "snippet_spans": [list(s) for s in h.snippet.spans],
            "links": h.links,
        } for h in result.hits],
    }
