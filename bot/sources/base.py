"""What every fetched source shares: the `Source` protocol, what a fetch returns (`Fetched`), the
conditional-request helper (`Net`) and parsing downloaded bodies with the digest parsers.

A source turns "the digest of day D" into requests and parsed digests; it never touches the
database itself. The poller loads what it returns and then saves the validators `Net` collected,
so a body that failed to load is asked for again in full next time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from bot.download.http import HttpClient, Response
from bot.ingest.formats import ParseContext, bytes_input, parse
from storage import fetch_state
from storage.db import Database
from storage.fetch_state import Validator
from storage.normalize import identity_key
from storage.records import PaperRecord, ParsedDigest


@dataclass(slots=True)
class Fetched:
    """What a source had for one day."""

    digests: list[ParsedDigest] = field(default_factory=list)  # loaded together, in one transaction
    not_modified: bool = False  # every request answered 304: nothing changed since the last load
    date: dt.date | None = None  # the day the source answered for (an RSS feed names its own)
    note: str = ""  # said to the user beside the outcome (e.g. "paging stopped at 20 pages")

    @property
    def empty(self) -> bool:
        """The source has nothing for the day: expected on weekends and holidays, not an error."""
        return not self.not_modified and not any(d.papers for d in self.digests)


class Net:
    """GETs for one fetch: conditional when a validator is known; new validators kept aside
    (`pending`) until the poller has loaded what came with them."""

    def __init__(self, client: HttpClient, db: Database) -> None:
        self.client = client
        self.db = db
        self.pending: dict[str, Validator] = {}

    async def get(self, url: str, *, conditional: bool = True) -> Response:
        known = await fetch_state.get_validator(self.db, url) if conditional else None
        response = await self.client.get(url, validator=known)
        if response.not_modified:
            # Keep the stored length: a 304 says the body (and so its length) is what it was.
            fresh = response.validator or known or Validator()
            self.pending[url] = replace(fresh, items=known.items if known else None)
        else:
            self.pending[url] = response.validator or Validator()
        return response

    def count_items(self, url: str, items: int) -> None:
        """Remember how many items the body of `url` had (see `Validator.items`)."""
        if url in self.pending:
            self.pending[url] = replace(self.pending[url], items=items)


class Source(Protocol):
    """A place digests come from. `name` is the digest source it files them under."""

    @property
    def name(self) -> str: ...

    @property
    def backfills(self) -> bool:
        """Can it fetch a past day's digest? (An RSS feed only holds the latest.)"""
        ...

    async def fetch(self, net: Net, day: dt.date) -> Fetched: ...


def _parse_all(body: bytes, ctx: ParseContext, fmt: str) -> list[ParsedDigest]:
    return list(parse(bytes_input(body), ctx, fmt)[1])


async def parse_body(body: bytes, ctx: ParseContext, fmt: str) -> list[ParsedDigest]:
    """Parse a downloaded body with the named format, in a worker thread (bodies can be large).
    Bad bodies raise storage.errors.InputError naming the URL."""
    return await asyncio.to_thread(_parse_all, body, ctx, fmt)


def merge_pages(source: str, day: dt.date, fmt: str, pages: Iterable[ParsedDigest]) -> ParsedDigest:
    """One digest from the pages of one listing, in order, each paper once (a list that grew while
    it was paged can show a paper on two pages)."""
    papers: list[PaperRecord] = []
    seen: set[str] = set()
    for page in pages:
        for record in page.papers:
            key = record.arxiv_id or identity_key(record.title, record.authors, record.abstract)
            if key not in seen:
                seen.add(key)
                papers.append(record)
    return ParsedDigest(source=source, date=day, format=fmt, papers=papers)
