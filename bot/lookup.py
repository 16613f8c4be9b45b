"""Finding a paper from a title typed from memory: "where is that FlashAttention paper?".

Typos, missing or reordered words, fragments, LaTeX written any way and the short name before
the colon all work (storage.titles does the matching); an arXiv id or URL is an exact hit. The
autocomplete mode returns Discord-sized choices whose values name the paper exactly and resolve
back to it with `resolve`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import sqlite3
from dataclasses import dataclass

import aiosqlite

from bot.limits import AUTOCOMPLETE_CHOICES, CHOICE_NAME, CHOICE_VALUE, clean_user_text, truncate
from storage import papers as paper_repo
from storage.db import Database
from storage.errors import DatabaseUnavailable
from storage.normalize import parse_arxiv_id
from storage.records import LoadResult, StoredPaper
from storage.titles import TitleIndexSync, TitleMatch
from storage.titles.sync import StartReport, listing_counts, paper_dates

log = logging.getLogger(__name__)

TIE_POOL = 25  # matches fetched from the index so that ties at the limit are broken on listings too
MAX_QUERY = 300  # longer input is cut: no title is that long, and scoring cost grows with length
_PAPER_ID = re.compile(r"^id:(\d{1,18})$")


@dataclass(frozen=True, slots=True)
class LookupHit:
    paper_id: int
    title: str
    arxiv_id: str | None
    published: dt.date | None
    first_listed: dt.date | None
    score: float  # 0..100; 100 for an exact arXiv id

    @property
    def value(self) -> str:
        """The paper's exact reference: "arxiv:2401.15024", or "id:12345" without an arXiv id."""
        return f"arxiv:{self.arxiv_id}" if self.arxiv_id else f"id:{self.paper_id}"


@dataclass(frozen=True, slots=True)
class Choice:
    """One autocomplete choice: `name` shown (≤ 100 chars), `value` sent back (≤ 100 chars)."""

    name: str
    value: str


class LookupService:
    """Title look-up over the archive. Call `start()` once; look-ups may then run concurrently."""

    def __init__(self, db: Database, sync: TitleIndexSync | None = None) -> None:
        self.db = db
        self.sync = sync or TitleIndexSync(db)
        self._dirty = True
        self._saving: asyncio.Task[int] | None = None

    async def start(self) -> StartReport:
        """Ready the title index: from its snapshot plus what came after (a full build only when
        there is no usable snapshot, which then writes one)."""
        report = await self.sync.start()
        self._dirty = False
        return report

    async def after_load(self, conn: aiosqlite.Connection, result: LoadResult) -> None:
        """A `Loader` hook: note that papers changed; the index catches up before the next look-up
        (not here: the load's transaction may still roll back)."""
        if not result.unchanged:
            self._dirty = True

    async def _refresh(self) -> None:
        # Polling is cheap (two indexed MAX queries) and also sees loads made by other processes.
        self._dirty = False
        await self.sync.refresh()
        if self.sync.snapshot_due() and (self._saving is None or self._saving.done()):
            # Written in the background: a look-up never waits for the ~1 s write at 1M titles.
            self._saving = asyncio.create_task(self._save_snapshot())

    async def close(self) -> None:
        """Let a snapshot write in progress finish (call before closing the database)."""
        if self._saving is not None:
            await self._saving

    async def _save_snapshot(self) -> int:
        try:
            return await self.sync.save()
        except (sqlite3.Error, DatabaseUnavailable, ValueError) as exc:
            # Only a cache: the next start-up replays a little more, or builds.
            log.warning("title index snapshot not saved: %s", exc)
            return 0

    async def lookup(self, query: str, limit: int = 5) -> list[LookupHit]:
        """The best `limit` papers for `query`, best first (empty when nothing resembles it)."""
        return await self._find(query, limit, prefix=False)

    async def autocomplete(self, query: str) -> list[Choice]:
        """At most 25 choices for what has been typed so far (the last word may be unfinished)."""
        hits = await self._find(query, AUTOCOMPLETE_CHOICES, prefix=True)
        return [Choice(choice_name(h), h.value) for h in hits if len(h.value) <= CHOICE_VALUE]

    async def resolve(self, value: str) -> StoredPaper | None:
        """The paper a choice value (or an arXiv id or URL) names."""
        value = value.strip()
        m = _PAPER_ID.match(value)
        if m:
            return await paper_repo.get_paper(self.db, int(m.group(1)))
        arxiv_id = parse_arxiv_id(value)
        return await paper_repo.get_by_arxiv_id(self.db, arxiv_id) if arxiv_id else None

    async def _find(self, query: str, limit: int, *, prefix: bool) -> list[LookupHit]:
        query = clean_user_text(query).strip()[:MAX_QUERY]
        if not query or limit < 1:
            return []
        exact = await self.resolve(query)
        if exact is not None:
            dates = await paper_dates(self.db, [exact.id])
            return [LookupHit(exact.id, exact.title, exact.arxiv_id, exact.published,
                              dates.get(exact.id, (None, None))[1], 100.0)]
        await self._refresh()
        index = self.sync.index
        matches = await asyncio.to_thread(index.search, query, max(limit, TIE_POOL), prefix=prefix)
        matches = (await self._break_ties(matches))[:limit]
        papers = {p.id: p for p in await paper_repo.get_papers(self.db, [m.paper_id for m in matches])}
        return [LookupHit(m.paper_id, p.title, p.arxiv_id, p.published, m.first_listed, m.score)
                for m in matches if (p := papers.get(m.paper_id)) is not None]

    async def _break_ties(self, matches: list[TitleMatch]) -> list[TitleMatch]:
        """Equally good matches (the same short name on several papers, a fragment they share):
        the paper more digests listed, then the more upvoted, then the newest listing (the
        index's order). "That paper" is more likely one the community kept seeing."""
        if len({m.score for m in matches}) == len(matches):
            return matches
        counts = await listing_counts(self.db, [m.paper_id for m in matches])
        order = {m.paper_id: n for n, m in enumerate(matches)}
        return sorted(matches, key=lambda m: (-m.score, *(-c for c in counts.get(m.paper_id, (0, 0))),
                                              order[m.paper_id]))


def choice_name(hit: LookupHit) -> str:
    """The title, cut on a word boundary with an ellipsis so that the name and its id fit 100 chars."""
    suffix = f" ({hit.arxiv_id})" if hit.arxiv_id else (
        f" ({hit.first_listed.isoformat()})" if hit.first_listed else "")
    title = " ".join(clean_user_text(hit.title).split()) or "(untitled)"
    return truncate(title, CHOICE_NAME - len(suffix)) + suffix
