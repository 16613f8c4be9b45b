"""CommunityService: what the chat commands and the CLI do with votes and libraries.

One service for every transport: a PAPER given as text is resolved here, once, by the title
look-up (`LookupService.find_paper`: id:N, an arXiv id or URL, or a title as `paperboy paper`
picks it); votes go through storage/votes.py's one-vote rule; libraries through storage/library.py;
exports through bot/community/export.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.chat.limits import clean_user_text, truncate
from bot.community import export
from bot.community.export import ExportItem
from bot.community.top import TopEntry, top
from bot.display.titles import shown_title
from bot.lookup.service import MAX_QUERY, LookupService
from storage import library as library_repo
from storage import lookup as lookup_repo
from storage import papers as paper_repo
from storage import votes as vote_repo
from storage.db import Database
from storage.library import MAX_SAVED, SavedPaper
from storage.records import StoredPaper
from storage.votes import VoteOutcome

PAPER_FORMS = "id:N, an arXiv id or URL, or part of its title"


class CommunityError(Exception):
    """A refusal with a short message for the user (no such paper, a full library, no server)."""


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    saved: bool  # whether the paper is in the library now
    changed: bool  # whether this call changed that
    size: int  # papers in the library now


@dataclass(frozen=True, slots=True)
class LibraryPage:
    entries: list[tuple[SavedPaper, StoredPaper]]
    total: int
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class ExportFile:
    filename: str
    data: bytes
    papers: int


def _shown(text: str) -> str:
    return truncate(" ".join(clean_user_text(text).split()), 60)


@dataclass(slots=True)
class CommunityService:
    db: Database
    lookup: LookupService

    # -- papers -------------------------------------------------------------------------------

    async def find_paper(self, text: str) -> StoredPaper:
        """The paper `text` names (id:N, an arXiv id or URL, or a title); CommunityError if none."""
        query = clean_user_text(text).strip()
        if not query:
            raise CommunityError(f"name a paper: {PAPER_FORMS}")
        if len(query) > MAX_QUERY:
            raise CommunityError(f"the paper is given in {len(query)} characters; at most {MAX_QUERY} please")
        paper = await self.lookup.find_paper(query)
        if paper is None:
            raise CommunityError(f"no paper in the archive matches '{_shown(query)}' (give {PAPER_FORMS})")
        return paper

    async def find_saved_paper(self, user_id: str, text: str) -> StoredPaper:
        """As `find_paper`, but a title is looked for among the user's saved papers first (most
        recently saved first): "flash" removes the FlashAttention paper they saved, not the best
        "flash" title of the whole archive."""
        query = " ".join(clean_user_text(text).split()).casefold()
        if query and await self.lookup.resolve(query) is None:
            for _, paper in (await self.library_page(user_id, 1, MAX_SAVED)).entries:
                if query in shown_title(paper.title).casefold():
                    return paper
        return await self.find_paper(text)

    async def paper(self, paper_id: int) -> StoredPaper:
        """The paper a button names; CommunityError when it left the archive."""
        paper = await paper_repo.get_paper(self.db, paper_id)
        if paper is None:
            raise CommunityError("that paper is no longer in the archive")
        return paper

    # -- votes --------------------------------------------------------------------------------

    async def vote(self, guild_id: str | None, user_id: str, paper_id: int, *, now: dt.datetime,
                   want: bool | None = None) -> VoteOutcome:
        """Toggle (or, with `want`, set) the member's vote for the paper in the server."""
        if guild_id is None:
            raise CommunityError("votes count per server: vote from a server's channel, not a direct message")
        return await vote_repo.toggle(self.db, guild_id, user_id, paper_id, now=now, want=want)

    async def vote_counts(self, guild_id: str | None, paper_ids: list[int]) -> dict[int, int]:
        return await vote_repo.counts(self.db, guild_id, paper_ids) if guild_id and paper_ids else {}

    async def top(self, guild_id: str | None, since: dt.datetime | None, limit: int) -> list[TopEntry]:
        return await top(self.db, guild_id, since, limit)

    # -- the library --------------------------------------------------------------------------

    async def save(self, user_id: str, paper_id: int, *, now: dt.datetime, want: bool | None = True) -> SaveOutcome:
        """Save the paper (`want` None: toggle; False: remove)."""
        current = await library_repo.is_saved(self.db, user_id, paper_id)
        target = (not current) if want is None else want
        if target and not current and await library_repo.size(self.db, user_id) >= MAX_SAVED:
            raise CommunityError(f"your library holds {MAX_SAVED:,} papers, the most it can; remove some first")
        if target:
            changed = await library_repo.save(self.db, user_id, paper_id, now=now)
        else:
            changed = await library_repo.remove(self.db, user_id, paper_id)
        return SaveOutcome(target, changed, await library_repo.size(self.db, user_id))

    async def library_size(self, user_id: str) -> int:
        return await library_repo.size(self.db, user_id)

    async def library_page(self, user_id: str, page: int, per_page: int) -> LibraryPage:
        total = await library_repo.size(self.db, user_id)
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        saved = await library_repo.saved(self.db, user_id, limit=per_page, offset=(page - 1) * per_page)
        papers = {p.id: p for p in await paper_repo.get_papers(self.db, [s.paper_id for s in saved])}
        return LibraryPage([(s, papers[s.paper_id]) for s in saved if s.paper_id in papers], total, page, pages)

    async def library_items(self, user_id: str) -> list[ExportItem]:
        """The user's library as export items, most recently saved first."""
        saved = await library_repo.saved(self.db, user_id)
        return await self.items([s.paper_id for s in saved], {s.paper_id: s.saved_at for s in saved})

    async def items(self, paper_ids: list[int], saved_at: dict[int, dt.datetime] | None = None) -> list[ExportItem]:
        """Export items for these papers, in this order (papers no longer stored left out)."""
        papers = {p.id: p for p in await paper_repo.get_papers(self.db, paper_ids)}
        dates = await lookup_repo.paper_dates(self.db, list(papers))
        return [ExportItem(papers[i], dates[i][1] if i in dates else None, (saved_at or {}).get(i))
                for i in paper_ids if i in papers]

    async def export_library(self, user_id: str, fmt: str, *, max_bytes: int | None = None) -> ExportFile:
        """The user's library as a file in `fmt`; with `max_bytes`, the most recently saved papers
        that fit (the file says how many it holds)."""
        items = await self.library_items(user_id)
        if not items:
            raise CommunityError("your library is empty: save papers with the ☆ Save button or /library save")
        data = export.render(items, fmt).encode("utf-8")
        kept = len(items)
        while max_bytes is not None and len(data) > max_bytes and kept > 1:
            kept = max(1, kept * max_bytes // len(data) - 1)
            data = export.render(items[:kept], fmt).encode("utf-8")
        if max_bytes is not None and len(data) > max_bytes:
            raise CommunityError("that export is too large to attach")
        return ExportFile(f"paperboy-library.{export.EXTENSIONS[fmt]}", data, kept)
