"""Each user's library: the papers they saved, with when. It follows the user across servers.

The SQL: storage/sqlite/library.py, storage/postgres/library.py. Exports (BibTeX, CSV, JSON
Lines) are built above storage, in bot/community/export.py, from the papers these ids name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend

MAX_SAVED = 10_000  # per user: a library is a reading list, and an export must fit one attachment


@dataclass(frozen=True, slots=True)
class SavedPaper:
    paper_id: int
    saved_at: dt.datetime


@per_backend
async def save(db: Database, user_id: str, paper_id: int, *, now: dt.datetime) -> bool:
    """Add the paper to the user's library; True when it was not there yet."""
    raise NotImplementedError


@per_backend
async def remove(db: Database, user_id: str, paper_id: int) -> bool:
    """Take the paper out of the user's library; True when it was there."""
    raise NotImplementedError


@per_backend
async def is_saved(db: Database, user_id: str, paper_id: int) -> bool:
    raise NotImplementedError


@per_backend
async def size(db: Database, user_id: str) -> int:
    raise NotImplementedError


@per_backend
async def saved(db: Database, user_id: str, *, limit: int | None = None, offset: int = 0) -> list[SavedPaper]:
    """The user's saved papers, most recently saved first (ties: the larger paper id first)."""
    raise NotImplementedError


async def saved_paper_ids(db: Database, user_id: str) -> list[int]:
    """The ids of the user's saved papers, most recently saved first."""
    return [s.paper_id for s in await saved(db, user_id)]


@per_backend
async def move_saves(db: Database, from_paper: int, to_paper: int) -> None:
    """A paper folded into its twin: users who saved it have the twin saved instead."""
    raise NotImplementedError
