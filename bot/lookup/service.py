"""Finding a paper from a title typed from memory: "where is that FlashAttention paper?".

Typos, missing or reordered words, fragments, LaTeX written any way and the short name before
the colon all work (`index.py` does the matching); an arXiv id or URL is an exact hit. The
autocomplete mode returns Discord-sized choices whose values name the paper exactly and resolve
back to it with `resolve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.chat.limits import AUTOCOMPLETE_CHOICES, CHOICE_NAME, CHOICE_VALUE, clean_user_text, truncate
from bot.chat.replies import Choice
from bot.display.titles import shown_title
from bot.lookup.close import CloseMatches
from bot.lookup.index import TitleMatch
from bot.lookup.reference import find_by_reference
from bot.lookup.sync import StartReport, TitleIndexSync
from storage.db import Database
from storage.errors import DatabaseUnavailable
from storage.lookup import MatchDetails, match_details, paper_dates, watch_titles
from storage.records import LoadResult, StoredPaper

log = logging.getLogger(__name__)

TIE_POOL = 25  # matches fetched from the index so that ties at the limit are broken on listings too
MAX_QUERY = 300  # longer input is cut: no title is that long, and scoring cost grows with length
# Seconds between polls for loads made by other processes (this process's own loads are seen at
# once through `after_load`, and on PostgreSQL every process's through its notifications):
# polling on every keystroke queued two queries per autocomplete behind everyone else's on the one
# database connection.
POLL_EVERY = 1.0
ANSWERS_KEPT = 512  # autocomplete answers remembered: people retype and backspace the same prefixes
# An answer is also forgotten after this long, since a change that leaves the title index alone
# (another process listing a paper again, giving it an arXiv id) can still change it.
ANSWER_TTL = 30.0


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



def hit_json(hit: LookupHit) -> dict[str, Any]:
    """A hit as `paperboy paper --json` and the web API's /api/paper give it."""
    return {"paper_id": hit.paper_id, "title": shown_title(hit.title), "arxiv_id": hit.arxiv_id, "value": hit.value,
            "published": hit.published, "first_listed": hit.first_listed, "score": round(hit.score, 1)}


class LookupService:
    """Title look-up over the archive. Call `start()` once; look-ups may then run concurrently."""

    def __init__(self, db: Database, sync: TitleIndexSync | None = None, *, poll_every: float = POLL_EVERY,
                 answers_kept: int = ANSWERS_KEPT) -> None:
        self.db = db
        self.sync = sync or TitleIndexSync(db)
        self.poll_every = poll_every
        self._dirty = True
        self._polled = -float("inf")  # monotonic time of the last poll: the first look-up polls
        self._polling: asyncio.Task[None] | None = None
        self._wait_for_poll = True  # whether look-ups wait for the poll under way
        self._saving: asyncio.Task[int] | None = None
        self._warming: asyncio.Future[None] | None = None
        self._answers_kept = answers_kept
        self._answers: OrderedDict[str, tuple[float, list[Choice]]] = OrderedDict()
        # Full look-ups, and searches the event loop could not run (the index busy elsewhere): one
        # thread, in arrival order. Searches hold the index's lock anyway; through the default pool
        # they raced for it (its waiters wake in no order) and for the GIL, so under concurrent
        # autocompletes a few waited several times longer than the rest.
        self._searching = asyncio.Lock()  # FIFO, so searches keep their arrival order
        self._searcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="title-search")
        self._watching = contextlib.AsyncExitStack()
        self.pushed = False  # whether the database tells us of other processes' loads (else: polls)
        self.close_matches = CloseMatches(self)  # a stored paper's nearest titles (its web page)

    async def start(self, *, warm: bool = False) -> StartReport:
        """Ready the title index: from its snapshot plus what came after (a full build only when
        there is no usable snapshot, which then writes one). `warm` (long-running processes): then
        ready in the background what a first look-up would otherwise build (`TitleIndex.warm`)."""
        report = await self.sync.start()
        if warm:
            self._warming = asyncio.ensure_future(asyncio.to_thread(self.sync.index.warm))
        self._dirty = False
        # Listening starts after the start-up's catch-up: what it announces is polled for next.
        self.pushed = await self._watching.enter_async_context(watch_titles(self.db, self._heard))
        return report

    def _heard(self) -> None:
        """Another process (or this one) committed papers or a title change: the next look-up
        waits for a poll, as after one of our own loads, instead of answering from the index as
        it was for up to `poll_every`."""
        self._dirty = True
        self._answers.clear()

    async def after_commit(self, results: Sequence[LoadResult]) -> None:
        """A `Loader` listener: note that papers changed; the index catches up before the next
        look-up. The papers listed get their close matches found ahead where pages show them."""
        if any(not r.unchanged for r in results):
            self._dirty = True
            self._answers.clear()
            await self.close_matches.after_commit(results)

    async def refresh(self) -> None:
        """Catch up with loads: at once after one of ours, else at most every `poll_every` seconds
        (which also sees other processes' loads). Concurrent look-ups share one poll.

        Look-ups wait for a poll after one of our own loads, and for the first one; a periodic poll
        runs while they answer from the index as it is (it was up to a second behind other
        processes anyway): its queries wait their turn on the one connection, and a look-up that
        waited for them, even one answered from memory, would wait for the whole poll."""
        polling = self._polling is not None and not self._polling.done()
        if not polling and (self._dirty or time.monotonic() - self._polled >= self.poll_every):
            self._wait_for_poll = self._dirty or self._polled == -float("inf")
            self._polling = asyncio.create_task(self._poll())
            self._polling.add_done_callback(_report_poll_failure)
            polling = True
        if polling and self._polling is not None and (self._wait_for_poll or self._dirty):
            # Shielded: a look-up given up on (autocomplete's deadline) must not cancel the others' poll.
            await asyncio.shield(self._polling)
            if self._dirty:  # one of our loads came in while that poll ran
                await self.refresh()

    async def _poll(self) -> None:
        # Cleared before polling: a load committed meanwhile sets it again and is polled for next time.
        self._dirty = False
        self._polled = time.monotonic()
        try:
            changed = await self.sync.refresh()
        except BaseException:
            self._dirty = True  # the next look-up tries again
            raise
        if changed:
            self._answers.clear()
        if self.sync.snapshot_due() and (self._saving is None or self._saving.done()):
            # Written in the background: a look-up never waits for the snapshot's write.
            self._saving = asyncio.create_task(self._save_snapshot())

    async def close(self) -> None:
        """Let a snapshot write in progress finish (call before closing the database)."""
        await self.close_matches.close()
        self._searcher.shutdown(wait=False)
        await self._watching.aclose()
        if self._polling is not None and not self._polling.done():
            self._polling.cancel()  # a periodic poll nobody waits for
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        if self._saving is not None:
            await self._saving
        if self._warming is not None:  # a thread: let it finish (a fraction of a second at 1M titles)
            with contextlib.suppress(Exception):
                await self._warming

    async def _save_snapshot(self) -> int:
        try:
            return await self.sync.save()
        except (DatabaseUnavailable, ValueError) as exc:
            # Only a cache: the next start-up replays a little more, or builds.
            log.warning("title index snapshot not saved: %s", exc)
            return 0

    async def lookup(self, query: str, limit: int = 5) -> list[LookupHit]:
        """The best `limit` papers for `query`, best first (empty when nothing resembles it).

        When nothing resembles the whole words, the last one is read as unfinished, as
        autocomplete reads it: "flash att" typed and sent finds FlashAttention.
        """
        hits = await self._find(query, limit, prefix=False)
        return hits or await self._find(query, limit, prefix=True, on_loop=False)

    async def autocomplete(self, query: str) -> list[Choice]:
        """At most 25 choices for what has been typed so far (the last word may be unfinished)."""
        key = clean_user_text(query).strip()[:MAX_QUERY]
        await self.refresh()  # first: a poll that finds changes forgets the remembered answers
        kept = self._answers.get(key)
        if kept is not None and time.monotonic() - kept[0] < ANSWER_TTL:
            self._answers.move_to_end(key)
            return list(kept[1])
        hits = await self._find(key, AUTOCOMPLETE_CHOICES, prefix=True)
        choices = [Choice(choice_name(h), h.value) for h in hits if len(h.value) <= CHOICE_VALUE]
        if self._answers_kept:
            self._answers[key] = (time.monotonic(), list(choices))
            while len(self._answers) > self._answers_kept:
                self._answers.popitem(last=False)
        return choices

    async def resolve(self, value: str) -> StoredPaper | None:
        """The paper a choice value (or an arXiv id or URL) names."""
        return await find_by_reference(self.db, value, bare_number=False)

    async def find_paper(self, text: str) -> StoredPaper | None:
        """The one paper `text` names, for commands that take a PAPER: a reference (id:N, an arXiv
        id or URL, arxiv:ID) exactly, else the best title match, as /paper and `paperboy paper`
        pick it. None when nothing resembles it."""
        exact = await self.resolve(text)
        if exact is not None:
            return exact
        hits = await self.lookup(text, 1)
        return await self.resolve(hits[0].value) if hits else None

    async def _find(self, query: str, limit: int, *, prefix: bool, on_loop: bool | None = None) -> list[LookupHit]:
        query = clean_user_text(query).strip()[:MAX_QUERY]
        if not query or limit < 1:
            return []
        exact = await self.resolve(query)
        if exact is not None:
            dates = await paper_dates(self.db, [exact.id])
            return [LookupHit(exact.id, exact.title, exact.arxiv_id, exact.published,
                              dates.get(exact.id, (None, None))[1], 100.0)]
        await self.refresh()
        index = self.sync.index
        pool = max(limit, TIE_POOL)
        # Autocomplete searches on the event loop: a search is pure Python holding the GIL either
        # way, and in the thread it also shared the GIL with the loop and queued behind the other
        # searches. Full look-ups (commands, which may defer) stay in the thread, so that their
        # longer searches do not hold back the deferral; so does any search while the index is
        # busy elsewhere (a big load's batch, a snapshot image): the loop must not wait for that.
        matches = None
        if prefix if on_loop is None else on_loop:
            # One search per turn of the loop: searches ready at once would otherwise run back to
            # back and hold off the loop's I/O (other interactions' answers) for their sum.
            async with self._searching:
                matches = index.search_if_free(query, pool, prefix=True)
                await asyncio.sleep(0)  # let the loop poll I/O before the next waiting search
        if matches is None:
            matches = await self.in_search_thread(functools.partial(index.search, query, pool, prefix=prefix))
        return await self.hits(matches, limit)

    async def in_search_thread(self, search: Callable[[], list[TitleMatch]]) -> list[TitleMatch]:
        """Run a search of the index in the look-up's thread, after the searches already waiting."""
        return await asyncio.get_running_loop().run_in_executor(self._searcher, search)

    async def hits(self, matches: Sequence[TitleMatch], limit: int) -> list[LookupHit]:
        """The index's matches as hits, ties broken on listings and upvotes, at most `limit`."""
        # One slim query gives both the tie-breakers and what a hit shows (no abstract or JSON).
        details = await match_details(self.db, [m.paper_id for m in matches])
        matches = _break_ties(list(matches), details)[:limit]
        return [LookupHit(m.paper_id, d.title, d.arxiv_id, d.published, m.first_listed, m.score)
                for m in matches if (d := details.get(m.paper_id)) is not None]


def _report_poll_failure(task: asyncio.Task[None]) -> None:
    """A poll that ran in the background failed: the next look-up polls again (`_dirty`)."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("title index poll failed: %s", exc)


def _break_ties(matches: list[TitleMatch], details: dict[int, MatchDetails]) -> list[TitleMatch]:
    """Equally good matches (the same short name on several papers, a fragment they share): the
    paper more digests listed, then the more upvoted, then the newest listing (the index's order).
    "That paper" is more likely one the community kept seeing."""
    order = {m.paper_id: n for n, m in enumerate(matches)}

    def key(m: TitleMatch) -> tuple[float, int, int, int]:
        d = details.get(m.paper_id)
        return (-m.score, -d.listings if d else 0, -d.upvotes if d else 0, order[m.paper_id])

    return sorted(matches, key=key)


def choice_name(hit: LookupHit) -> str:
    """The title, cut on a word boundary with an ellipsis so that the name and its id fit 100 chars."""
    suffix = f" ({hit.arxiv_id})" if hit.arxiv_id else (
        f" ({hit.first_listed.isoformat()})" if hit.first_listed else "")
    title = shown_title(hit.title) or "(untitled)"
    return truncate(title, CHOICE_NAME - len(suffix)) + suffix
