"""arXiv RSS: `GET {base}/rss/{category}`, one digest per category per announcement day.

A feed only ever holds the latest announcement, dated by its own `pubDate`, so this source cannot
backfill: asked for day D it loads whatever the feed holds, and the day counts as done only once
the feed is dated D or later. Papers cross-listed in several categories appear in each category's
digest and are stored once (the loader's identity by arXiv id); notifications key on the paper.
Weekend and holiday feeds are empty: an expected empty day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import quote

from bot.ingest.formats import ParseContext
from bot.sources.base import Fetched, Net, parse_body

FORMAT = "arxiv-rss"


@dataclass(slots=True)
class ArxivRssSource:
    category: str
    base_url: str = "https://rss.arxiv.org"
    announce_types: frozenset[str] = field(default_factory=lambda: frozenset({"new", "cross"}))
    backfills: bool = False

    @property
    def name(self) -> str:
        return f"arxiv-rss:{self.category}"

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/rss/{quote(self.category, safe='.+-')}"

    async def fetch(self, net: Net, day: dt.date) -> Fetched:
        response = await net.get(self.url)
        if response.not_modified:
            return Fetched(not_modified=True)
        ctx = ParseContext(name=self.url, today=day, source=self.name, announce_types=self.announce_types)
        digests = await parse_body(response.body, ctx, FORMAT)
        net.count_items(self.url, sum(len(d.papers) for d in digests))
        date = max((d.date for d in digests), default=None)
        return Fetched(digests, date=date)
