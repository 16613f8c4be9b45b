"""Topic subscriptions and per-user notification preferences, plus what matching reads from the index.

A subscription stores the topic as typed and its canonical query (`str(parse(topic))`, computed by
the assistant): the canonical form is the dedupe key per user and the match key across users, so
100k subscriptions with 30k distinct topics are matched 30k times, not 100k.

Matching must agree with search to the letter, so words are never stemmed in Python: `tokenize`
and `postings` run SQLite's own FTS5 tokenizer (the one papers_fts uses) on a private in-memory
database. `postings` gives, for a handful of papers, every token with its column and position:
enough to evaluate words, phrases, prefixes, title-only terms, OR and exclusions without one FTS5
query per topic. The tokenizer runs in the process on either backend, so a topic matches the same
papers whichever database stores them (on PostgreSQL, where search ranks with its own English
stemmer, a subscription still matches as FTS5 would).

The SQL: storage/sqlite/subscriptions.py, storage/postgres/subscriptions.py.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from storage.db import Database
from storage.dispatch import per_backend

DELIVERY_KINDS = ("direct", "channel")
# Must be papers_fts's tokenizer (0001_archive.sql): the tokens compared are the tokens it indexed.
_TOKENIZE = "porter unicode61 remove_diacritics 2"
_COLUMNS = ("title", "abstract")


@dataclass(slots=True, frozen=True)
class UserPrefs:
    user_id: str
    paused: bool = False
    delivery: str = "direct"  # one of DELIVERY_KINDS
    fallback: bool = True  # when the preferred way fails for good, use the other one
    guild_id: str | None = None  # the server whose digest thread gets channel mentions
    cap: int | None = None  # papers listed per notification; None: the configured default


@dataclass(slots=True, frozen=True)
class Subscription:
    id: int
    user_id: str
    topic: str  # as typed
    query: str  # canonical
    created_at: dt.datetime


@dataclass(slots=True, frozen=True)
class AddResult:
    status: Literal["added", "duplicate", "limit"]
    subscription: Subscription | None  # the new one, or the existing duplicate
    count: int  # the user's topics afterwards


# -- preferences ---------------------------------------------------------------------------------

PREF_COLUMNS = ("paused", "delivery", "fallback", "guild_id", "cap")


@per_backend
async def get_prefs(db: Database, user_id: str) -> UserPrefs:
    """The user's preferences; the defaults for someone who never subscribed."""
    raise NotImplementedError


@per_backend
async def save_prefs(db: Database, user_id: str, *, now: dt.datetime | None = None, **values: Any) -> UserPrefs:
    """Set some preferences (names from PREF_COLUMNS), creating the user's row if needed; ValueError
    names any other."""
    raise NotImplementedError


@per_backend
async def list_users(db: Database) -> list[UserPrefs]:
    """Everyone who ever subscribed, by user id (compared as bytes)."""
    raise NotImplementedError


# -- subscriptions -------------------------------------------------------------------------------

@per_backend
async def add_subscription(db: Database, user_id: str, topic: str, query: str, *, limit: int,
                           now: dt.datetime | None = None) -> AddResult:
    """Save a topic unless the user already has its query or has `limit` topics (checked atomically)."""
    raise NotImplementedError


@per_backend
async def remove_subscription(db: Database, user_id: str, query: str) -> bool:
    """Forget the user's topic with this canonical query; True when there was one."""
    raise NotImplementedError


@per_backend
async def list_subscriptions(db: Database, user_id: str | None = None) -> list[Subscription]:
    """A user's topics (everyone's when None, by user id), oldest first."""
    raise NotImplementedError


@per_backend
async def active_queries(db: Database) -> list[str]:
    """The distinct canonical queries of users who are not paused (covered by subscriptions_query)."""
    raise NotImplementedError


@per_backend
async def active_subscribers(db: Database, queries: Sequence[str]) -> list[tuple[str, str]]:
    """(user, query) of every active subscription to one of `queries`, by user id, each user's in
    the order they subscribed. Plain tuples: a popular digest fans out to tens of thousands of rows."""
    raise NotImplementedError


@per_backend
async def prefs_of(db: Database, user_ids: Iterable[str]) -> dict[str, UserPrefs]:
    """The stored preferences of those of `user_ids` who have any (inside a queueing batch's
    transaction: pass the database `db.atomic()` yields)."""
    raise NotImplementedError


# -- what matching reads -------------------------------------------------------------------------

@dataclass(slots=True, frozen=True)
class Posting:
    paper_id: int
    column: str  # "title" or "abstract"
    offset: int  # the token's position in that column


def _instances(docs: Iterable[tuple[int, str, str]]) -> Iterator[tuple[str, int, str, int]]:
    """(token, doc, column, offset) for every token of every (doc, title, abstract), as papers_fts
    tokenizes them: a private in-memory FTS5 table and its 'instance' vocabulary."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(title, abstract, tokenize='{_TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        conn.executemany("INSERT INTO t(rowid, title, abstract) VALUES (?, ?, ?)", docs)
        yield from conn.execute("SELECT term, doc, col, offset FROM v")
    finally:
        conn.close()


def tokenize(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each text's tokens as the index sees them, in order ("Speculative decoding" -> ("specul",
    "decod")). Texts with no token map to (). Pure: no I/O, safe inside any transaction."""
    unique = list(dict.fromkeys(texts))
    found: dict[int, list[tuple[int, str]]] = {}
    for token, doc, _col, offset in _instances((i, text, "") for i, text in enumerate(unique)):
        found.setdefault(doc, []).append((offset, token))
    return {text: tuple(t for _, t in sorted(found.get(i, []))) for i, text in enumerate(unique)}


@dataclass(slots=True, frozen=True)
class PaperText:
    id: int
    title: str
    abstract: str


@per_backend
async def read_papers(db: Database, paper_ids: Sequence[int], *,
                      digest_id: int | None = None) -> list[PaperText]:
    """The stored texts of `paper_ids`: in the digest's order when `digest_id` is given (papers it
    does not list first, by id), else by id."""
    raise NotImplementedError


def postings(papers: Iterable[PaperText]) -> dict[str, list[Posting]]:
    """token -> where it occurs in the papers' titles and abstracts (tokenized in memory: cheap for
    a digest's hundred or so papers)."""
    out: dict[str, list[Posting]] = {}
    for token, doc, col, offset in _instances((p.id, p.title, p.abstract) for p in papers):
        out.setdefault(token, []).append(Posting(doc, col, offset))
    return out


@per_backend
async def papers_listed_since(db: Database, since: dt.date) -> list[tuple[int, dt.date, int]]:
    """(paper id, newest listing date, position there) of papers listed in a digest dated `since` or
    later, newest listing first."""
    raise NotImplementedError


@per_backend
async def newest_digest_date(db: Database) -> dt.date | None:
    """The date of the newest digest; None with none."""
    raise NotImplementedError
