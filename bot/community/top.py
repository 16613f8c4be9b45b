"""/top: the papers a server voted for in a period, blended with the source's own upvotes.

score = votes + log10(1 + upvotes)

`votes` are the server's members' votes cast in the period; `upvotes` the highest count the
source (Hugging Face Daily Papers) showed for the paper in a digest of the period, 0 where the
source has none (arXiv feeds). The logarithm keeps the community first: a paper needs 9 upvotes
to weigh one vote, 99 for two, 999 for three; so a server's own votes decide between papers the
source liked about as much, and the source's upvotes fill the list and break ties on a quiet
server. Ties: more votes, then more upvotes, then the older paper (smaller id) first.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from storage import papers as paper_repo
from storage import votes as vote_repo
from storage.db import Database
from storage.records import StoredPaper

PERIODS: dict[str, int | None] = {"week": 7, "month": 30, "all": None}  # name -> days (None: all time)
DEFAULT_LIMIT = 10
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class TopEntry:
    paper: StoredPaper
    votes: int
    upvotes: int | None
    score: float


def score(votes: int, upvotes: int | None) -> float:
    return votes + math.log10(1 + max(0, upvotes or 0))


def period_start(period: str, now: dt.datetime) -> dt.datetime | None:
    """When `period` ("week", "month", "all") began, seen from `now` (None: all time)."""
    days = PERIODS[period]
    return None if days is None else now - dt.timedelta(days=days)


async def top(db: Database, guild_id: str | None, since: dt.datetime | None,
              limit: int = DEFAULT_LIMIT) -> list[TopEntry]:
    """The server's (None: every server's) top `limit` papers from `since` (None: all time)."""
    candidates = await vote_repo.top_candidates(db, guild_id, since, limit)
    ranked = sorted(((score(c.votes, c.upvotes), c) for c in candidates),
                    key=lambda sc: (-sc[0], -sc[1].votes, -(sc[1].upvotes or 0), sc[1].paper_id))
    chosen = [(s, c) for s, c in ranked if s > 0][:limit]
    papers = {p.id: p for p in await paper_repo.get_papers(db, [c.paper_id for _, c in chosen])}
    return [TopEntry(papers[c.paper_id], c.votes, c.upvotes, s) for s, c in chosen if c.paper_id in papers]
