"""Members' votes for papers, one per member per paper per server, and what a server voted for.

A vote row is (server, paper, member): the primary key is the one-vote rule, so concurrent presses
by one member store one vote whatever their order (the second insert is ignored and reports the
vote as already there). `toggle` casts or takes back a vote in one transaction. `top_candidates`
gives the raw signals `/top` blends (bot/community/top.py ranks them); `voted_paper_ids` is what
recommendations read. The SQL: storage/sqlite/votes.py, storage/postgres/votes.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """What a press did: `voted` whether the member's vote stands now, `changed` whether this
    call changed it (False: it was already so), `count` the paper's votes in the server now."""

    voted: bool
    changed: bool
    count: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper `/top` may list: its votes in the server within the period and the highest upvote
    count its source gave it in a digest of the period (None: the source has no upvotes)."""

    paper_id: int
    votes: int
    upvotes: int | None


@per_backend
async def cast(db: Database, guild_id: str, user_id: str, paper_id: int, *, now: dt.datetime) -> bool:
    """Record the member's vote; True when it was new, False when it was already there."""
    raise NotImplementedError


@per_backend
async def retract(db: Database, guild_id: str, user_id: str, paper_id: int) -> bool:
    """Take the member's vote back; True when there was one."""
    raise NotImplementedError


@per_backend
async def has_voted(db: Database, guild_id: str, user_id: str, paper_id: int) -> bool:
    raise NotImplementedError


@per_backend
async def count(db: Database, guild_id: str, paper_id: int) -> int:
    """The paper's votes in the server (all time)."""
    raise NotImplementedError


@per_backend
async def counts(db: Database, guild_id: str, paper_ids: Sequence[int]) -> dict[int, int]:
    """Votes in the server of each paper that has any (papers without votes are left out)."""
    raise NotImplementedError


async def toggle(db: Database, guild_id: str, user_id: str, paper_id: int, *, now: dt.datetime,
                 want: bool | None = None) -> VoteOutcome:
    """Cast the vote if the member has none, take it back if they have one (`want` True or False
    asks for one state whatever the current one). One transaction: the count is the one just after."""
    async with db.atomic() as tx:
        current = await has_voted(tx, guild_id, user_id, paper_id)
        target = (not current) if want is None else want
        if target:
            changed = await cast(tx, guild_id, user_id, paper_id, now=now)
        else:
            changed = await retract(tx, guild_id, user_id, paper_id)
        return VoteOutcome(target, changed, await count(tx, guild_id, paper_id))


@per_backend
async def period_votes(db: Database, guild_id: str | None, since: dt.datetime | None) -> dict[int, int]:
    """paper id -> votes cast on or after `since` (None: ever) in the server (None: every server)."""
    raise NotImplementedError


@per_backend
async def top_upvoted(db: Database, since: dt.date | None, limit: int) -> list[tuple[int, int]]:
    """(paper id, its highest source upvote count in a digest dated on or after `since`) of the
    `limit` papers with the most, most first (ties: the smaller id first)."""
    raise NotImplementedError


@per_backend
async def upvotes_of(db: Database, paper_ids: Sequence[int], since: dt.date | None) -> dict[int, int]:
    """paper id -> its highest source upvote count in a digest dated on or after `since`, for
    those of `paper_ids` that have one."""
    raise NotImplementedError


async def top_candidates(db: Database, guild_id: str | None, since: dt.datetime | None, limit: int) -> list[Candidate]:
    """The papers that can rank in the server's top `limit` for the period from `since` (None:
    all time; `guild_id` None: every server together): every paper voted for in the period, with
    its votes, plus the `limit` papers with the most source upvotes in digests dated on or after
    `since`'s day. A paper outside both sets has no votes and no more upvotes than the last of
    those, so no blend that grows with both can rank it above any of them."""
    day = since.date() if since is not None else None
    async with db.atomic() as tx:  # one snapshot on PostgreSQL
        voted = await period_votes(tx, guild_id, since)
        upvoted = dict(await top_upvoted(tx, day, limit))
        missing = [paper_id for paper_id in voted if paper_id not in upvoted]
        upvoted.update(await upvotes_of(tx, missing, day) if missing else {})
    ids = sorted(voted.keys() | upvoted.keys())
    return [Candidate(paper_id, voted.get(paper_id, 0), upvoted.get(paper_id)) for paper_id in ids]


@per_backend
async def voted_paper_ids(db: Database, user_id: str, *, guild_id: str | None = None,
                          since: dt.datetime | None = None) -> list[int]:
    """The papers `user_id` voted for (in one server, or any), newest vote first, each once."""
    raise NotImplementedError


@per_backend
async def move_votes(db: Database, from_paper: int, to_paper: int) -> None:
    """A paper folded into its twin: its votes move over (a member who voted for both keeps one)."""
    raise NotImplementedError
