"""Hugging Face Daily Papers: `GET {base}/api/daily_papers?date=D&limit=N&p=P`, paged until an
empty page, all pages merged into one digest dated by the listing day D.

A page is refused when it lists more papers than were asked for (`page_size`), and paging stops
once the day has `max_papers`: a server that ignores the page size, or pages without end, cannot
make a fetch hold more than that in memory.

Every page is asked for conditionally. When all of them answer 304 the digest is unchanged; when
only some do, those are fetched again in full, because the loader needs the whole list (a complete
digest replaces its entries). An empty first page is an empty day (weekends), not an error.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.ingest.formats import ParseContext
from bot.sources.base import Fetched, Net, merge_pages, parse_body
from storage.records import ParsedDigest

FORMAT = "hf-api"
MAX_PAPERS = 2000  # papers kept at most for one day ([fetch] hf_max_papers)

log = logging.getLogger(__name__)


@dataclass(slots=True)
class HfDailySource:
    base_url: str = "https://huggingface.co"
    page_size: int = 100  # the API's maximum
    max_pages: int = 20
    max_papers: int = MAX_PAPERS
    name: str = "hf-daily"
    backfills: bool = True

    def page_url(self, day: dt.date, page: int) -> str:
        query = urlencode({"date": day.isoformat(), "limit": self.page_size, "p": page})
        return f"{self.base_url.rstrip('/')}/api/daily_papers?{query}"

    async def _page(self, net: Net, url: str, day: dt.date, *, conditional: bool) -> ParsedDigest | None:
        """The page's digest, or None when it answered 304."""
        response = await net.get(url, conditional=conditional)
        if response.not_modified:
            return None
        ctx = ParseContext(name=url, today=day, date=day, source=self.name, max_items=self.page_size)
        [digest] = await parse_body(response.body, ctx, FORMAT)
        net.count_items(url, len(digest.papers))
        return digest

    async def fetch(self, net: Net, day: dt.date) -> Fetched:
        pages: list[tuple[str, ParsedDigest | None]] = []
        note = ""
        total = 0
        for number in range(self.max_pages):
            url = self.page_url(day, number)
            digest = await self._page(net, url, day, conditional=True)
            if digest is None:
                known = net.pending[url].items
                if known is None:  # a 304 without the page's length: ask for the body to know
                    digest = await self._page(net, url, day, conditional=False)
            pages.append((url, digest))
            length = len(digest.papers) if digest is not None else net.pending[url].items
            if not length:
                break
            total += length
            if total >= self.max_papers:
                note = f"paging stopped at {self.max_papers:,} papers"
                log.warning("%s %s: %s (hf_max_papers); the rest of the day is not loaded", self.name, day, note)
                break
        else:
            note = f"paging stopped at {self.max_pages} pages"
        if all(digest is None for _, digest in pages):
            return Fetched(not_modified=True, date=day, note=note)
        complete = []
        for url, digest in pages:
            complete.append(digest if digest is not None else await self._page(net, url, day, conditional=False))
        merged = merge_pages(self.name, day, FORMAT, (d for d in complete if d is not None))
        del merged.papers[self.max_papers:]
        return Fetched([merged], date=day, note=note)
