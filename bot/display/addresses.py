"""The web archive's stable addresses, spelt once: what pages link to, and what Discord links to.

`/` home, `/digests` the calendar, `/digests/DATE?source=S` a digest, `/papers/ARXIV_ID` a paper
(`/papers/id:N` for one without an arXiv id), `/search?q=…`, `/feeds/search.atom?q=…`,
`/feeds/SOURCE.atom`, `/api/…`, `/healthz`, `/metrics`. Links last: an address never depends on
anything but the date, the source and the paper's identity.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode


def paper_path(arxiv_id: str | None, paper_id: int) -> str:
    """"/papers/2401.15024", "/papers/hep-th/9901001", or "/papers/id:12" without an arXiv id."""
    return f"/papers/{quote(arxiv_id, safe='/.')}" if arxiv_id else f"/papers/id:{paper_id}"


def digest_path(day: dt.date, source: str | None = None) -> str:
    query = f"?{urlencode({'source': source})}" if source else ""
    return f"/digests/{day.isoformat()}{query}"


def month_path(day: dt.date) -> str:
    return f"/digests?{urlencode({'month': day.strftime('%Y-%m')})}"


def search_path(query: str, *, since: dt.date | None = None, until: dt.date | None = None, page: int = 1) -> str:
    params: dict[str, str] = {"q": query}
    if since:
        params["since"] = since.isoformat()
    if until:
        params["until"] = until.isoformat()
    if page > 1:
        params["page"] = str(page)
    return f"/search?{urlencode(params)}"


def source_feed_path(source: str) -> str:
    return f"/feeds/{quote(source, safe=':')}.atom"


def search_feed_path(query: str) -> str:
    return f"/feeds/search.atom?{urlencode({'q': query})}"


def absolute(public_url: str, path: str) -> str:
    """`path` under the public address ("https://papers.example.org/sub" + "/papers/1")."""
    return public_url.rstrip("/") + path
