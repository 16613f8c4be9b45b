"""Close matches of a stored paper: the titles nearest its own, as its web page lists them.

Finding them is a title look-up of the paper's own title: about 10 ms of CPU at 1M titles, in
the look-up's one thread, so fifty readers opening fifty different papers at once would wait
half a second behind each other. So they are kept, and a page never waits for them:

- kept per paper (the `kept` most recently asked) with the index's last paper id when found;
  once papers were added, only those are searched (`TitleIndex.search(since=...)`, the tails of a
  few postings: well under a millisecond) and merged in, so a kept answer follows the archive;
- in a process that serves the pages, found ahead in the background for the papers a load lists
  (the ones a daily post, a Discord card or a digest page links to), and for the latest
  digest's when it starts serving;
- a page whose paper's matches are not kept yet links to them instead (`/papers?title=…`, the
  title look-up, which works without JavaScript) and its script fills them in from
  `/api/papers/REF/close`, which finds and keeps them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.display.titles import shown_title
from bot.lookup.index import TitleMatch
from storage import digests as digest_repo
from storage.errors import DatabaseUnavailable
from storage.records import LoadResult, StoredPaper

if TYPE_CHECKING:
    from bot.lookup.service import LookupHit, LookupService

log = logging.getLogger(__name__)

CLOSE_MATCHES = 4  # what a paper page lists
POOL = 8  # matches kept per paper: the paper itself and ties at the cut are sorted out when shown
KEPT = 20_000  # papers whose matches are kept (about 1 kB each)
WARM_PER_LOAD = 2_000  # a bulk import lists a whole archive: only its newest digests are found ahead


@dataclass(frozen=True, slots=True)
class _Kept:
    title: str  # as stored when found: a changed title is searched afresh
    last_id: int  # the index's highest paper id when found (or last topped up)
    matches: tuple[TitleMatch, ...]


def _order(match: TitleMatch) -> tuple[float, int, int]:
    """The index's own order (`_rerank`): score, then the newer listing, then the newer paper."""
    return (match.score, match.first_listed.toordinal() if match.first_listed else 0, match.paper_id)


def merged(kept: Sequence[TitleMatch], added: Sequence[TitleMatch], size: int = POOL) -> tuple[TitleMatch, ...]:
    """The best `size` of a kept answer and a search of the papers added since (a paper in both:
    the newer score)."""
    by_id = {m.paper_id: m for m in kept}
    by_id.update((m.paper_id, m) for m in added)
    return tuple(sorted(by_id.values(), key=_order, reverse=True)[:size])


class CloseMatches:
    """Each paper's close matches, kept, topped up as papers are added, found ahead after loads."""

    def __init__(self, lookup: LookupService, *, kept: int = KEPT) -> None:
        self._lookup = lookup
        self._size = kept
        self._kept: OrderedDict[int, _Kept] = OrderedDict()
        self._waiting: deque[int] = deque()  # papers to find ahead, in order
        self._warming: asyncio.Task[None] | None = None
        self._ahead = False  # only a process serving paper pages finds them ahead (`serve_pages`)

    def __len__(self) -> int:
        return len(self._kept)

    async def get(self, paper: StoredPaper, *, find: bool = True) -> list[LookupHit] | None:
        """The paper's close matches, best first (at most CLOSE_MATCHES, never the paper itself).
        `find=False`: None unless they are kept (a page, which must not wait ~10 ms of CPU
        behind everyone else's look-ups); a kept answer is still topped up with newer papers."""
        await self._lookup.refresh()
        kept = self._kept.get(paper.id)
        if kept is not None and kept.title == paper.title:
            self._kept.move_to_end(paper.id)
            matches = await self._top_up(paper.id, kept)
        elif not find:
            return None
        else:
            matches = await self._find(paper.id, paper.title)
        hits = await self._lookup.hits(matches, POOL)
        return [h for h in hits if h.paper_id != paper.id][:CLOSE_MATCHES]

    async def _find(self, paper_id: int, title: str) -> tuple[TitleMatch, ...]:
        """A whole search: the top-up of nothing kept, from paper id 0."""
        return await self._top_up(paper_id, _Kept(title, 0, ()))

    async def _top_up(self, paper_id: int, kept: _Kept) -> tuple[TitleMatch, ...]:
        index = self._lookup.sync.index
        last_id = index.last_id
        if last_id <= kept.last_id:
            return kept.matches
        added = await self._lookup.in_search_thread(
            functools.partial(index.search, shown_title(kept.title), POOL, since=kept.last_id))
        matches = merged(kept.matches, added)
        self._keep(paper_id, _Kept(kept.title, last_id, matches))
        return matches

    def _keep(self, paper_id: int, kept: _Kept) -> None:
        self._kept[paper_id] = kept
        self._kept.move_to_end(paper_id)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    # -- found ahead ----------------------------------------------------------------------------

    def find_ahead(self, paper_ids: Iterable[int]) -> None:
        """Find these papers' matches in the background, one look-up at a time (the look-up's
        thread takes them in turn with members' look-ups, so none waits more than one of them)."""
        self._waiting.extend(paper_ids)
        while len(self._waiting) > self._size:
            self._waiting.popleft()
        if self._waiting and (self._warming is None or self._warming.done()):
            self._warming = asyncio.create_task(self._find_waiting())

    async def _find_waiting(self) -> None:
        index = self._lookup.sync.index
        while self._waiting:
            paper_id = self._waiting.popleft()
            if paper_id in self._kept:
                continue
            try:
                await self._lookup.refresh()  # a load's papers are in the index once it caught up
                title = index.title(paper_id)
                if title is not None:
                    await self._find(paper_id, title)
            except DatabaseUnavailable as exc:  # only ahead of time: a page finds them itself
                log.warning("close matches not found ahead: %s", exc)
                self._waiting.clear()
            except Exception:
                log.exception("close matches not found ahead for paper %d", paper_id)

    async def serve_pages(self) -> int:
        """This process serves paper pages (the web archive): from now on each load's papers are
        found ahead, and the latest digest's at once. Returns how many were asked for. Elsewhere
        (a bot without the archive, the CLI) nothing is found ahead: no CPU spent on pages nobody
        there shows, and none taken from commands' look-ups after a load."""
        self._ahead = True
        return await self.find_latest_ahead()

    async def after_commit(self, results: Sequence[LoadResult]) -> None:
        """A load committed: find its newest digests' papers ahead (at most WARM_PER_LOAD) when
        this process serves paper pages."""
        if not self._ahead:
            return
        listed: list[int] = []
        for result in sorted(results, key=lambda r: r.date, reverse=True):
            listed.extend(result.paper_ids[:WARM_PER_LOAD - len(listed)])
            if len(listed) >= WARM_PER_LOAD:
                break
        self.find_ahead(listed)

    async def find_latest_ahead(self) -> int:
        """At start-up: the latest digest's papers, found ahead. Returns how many were asked for."""
        digest = await digest_repo.find_digest(self._lookup.db)
        if digest is None:
            return 0
        ids = [e.paper.id for e in await digest_repo.digest_entries(self._lookup.db, digest.id)]
        self.find_ahead(ids)
        return len(ids)

    async def found_ahead(self) -> None:
        """Wait until the papers asked for ahead so far are found (tests, benchmarks)."""
        while self._warming is not None and not self._warming.done():
            await asyncio.shield(self._warming)

    async def close(self) -> None:
        self._waiting.clear()
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming
