"""Digests whose subscribers' notifications are still to be queued (migration 0013).

A digest that is news gets a row in its own load transaction: it cannot commit without it, so a
crash after the commit loses nothing. Matching and queueing then run after the commit, outside
the load's transaction, in batches of users taken in user id order; each batch's transaction
queues its notifications (storage.notifications.queue) and either moves the row's `done_through` on
(`advance`) or, for the last batch, deletes the row (`finish`). A row found at start-up is
resumed after `done_through`; the batch that was interrupted re-checks delivery_papers' (user,
paper) key inside its own transaction, so nothing is queued twice.

The SQL: storage/sqlite/pending_matches.py, storage/postgres/pending_matches.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend


@dataclass(slots=True, frozen=True)
class PendingMatch:
    id: int
    digest_id: int
    paper_ids: tuple[int, ...]  # the papers the load listed, as LoadResult.paper_ids
    done_through: str | None  # users up to this one (user id order) are queued
    created_at: dt.datetime


@per_backend
async def add(db: Database, digest_id: int, paper_ids: Sequence[int], *, now: dt.datetime | None = None) -> int:
    """Record that a digest's papers await matching; with the database of the load's transaction
    (the Loader's `after_load` hooks get it). Returns its id."""
    raise NotImplementedError


@per_backend
async def pending(db: Database) -> list[PendingMatch]:
    """Every digest still awaiting matching, in the order they were loaded."""
    raise NotImplementedError


@per_backend
async def advance(db: Database, match_id: int, done_through: str) -> None:
    """Users up to `done_through` are queued; inside that batch's transaction. Never moves back
    (two processes resuming the same row may finish their batches in any order; user ids compare
    as text, code point by code point, as Python sorts them)."""
    raise NotImplementedError


@per_backend
async def finish(db: Database, match_id: int) -> None:
    """Every user is queued: forget the row; inside the last batch's transaction."""
    raise NotImplementedError
