"""Topic subscriptions and per-user notification preferences, plus what matching reads from the index.

A subscription stores the topic as typed and its canonical query (`str(parse(topic))`, computed by
the assistant): the canonical form is the dedupe key per user and the match key across users, so
100k subscriptions with 30k distinct topics are matched 30k times, not 100k.

Matching must agree with search to the letter, so words are never stemmed in Python: `tokenize`
and `postings` run SQLite's own FTS5 tokenizer (the one papers_fts uses) on a private in-memory
database. `postings` gives, for a handful of papers, every token with its column and position:
enough to evaluate words, phrases, prefixes, title-only terms, OR and exclusions without one FTS5
query per topic.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiosqlite

from storage.db import Database, iso, now_utc, parse_iso

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

_PREF_COLUMNS = ("paused", "delivery", "fallback", "guild_id", "cap")


def _prefs(row: sqlite3.Row) -> UserPrefs:
    return UserPrefs(row["user_id"], bool(row["paused"]), row["delivery"], bool(row["fallback"]),
                     row["guild_id"], row["cap"])


async def get_prefs(db: Database, user_id: str) -> UserPrefs:
    """The user's preferences; the defaults for someone who never subscribed."""
    row = await db.fetchone("SELECT * FROM subscription_users WHERE user_id = ?", (user_id,))
    return _prefs(row) if row else UserPrefs(user_id)


async def save_prefs(db: Database, user_id: str, *, now: dt.datetime | None = None, **values: Any) -> UserPrefs:
    """Set some preferences (names from UserPrefs), creating the user's row if needed."""
    unknown = set(values) - set(_PREF_COLUMNS)
    if unknown:
        raise ValueError(f"not a preference: {sorted(unknown)}")
    stamp = iso(now or now_utc())
    params = [int(v) if isinstance(v, bool) else v for v in values.values()]
    sets = "".join(f", {name} = ?" for name in values)
    async with db.transaction() as conn:
        await _ensure_user(conn, user_id, stamp)
        await conn.execute(f"UPDATE subscription_users SET updated_at = ?{sets} WHERE user_id = ?",  # noqa: S608
                           [stamp, *params, user_id])
    return await get_prefs(db, user_id)


async def _ensure_user(conn: aiosqlite.Connection, user_id: str, stamp: str) -> None:
    await conn.execute("INSERT INTO subscription_users (user_id, created_at, updated_at) VALUES (?, ?, ?)"
                       " ON CONFLICT DO NOTHING", (user_id, stamp, stamp))


async def list_users(db: Database) -> list[UserPrefs]:
    return [_prefs(r) for r in await db.fetchall("SELECT * FROM subscription_users ORDER BY user_id")]


# -- subscriptions -------------------------------------------------------------------------------

def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(row["id"], row["user_id"], row["topic"], row["query"], parse_iso(row["created_at"]))


async def add_subscription(db: Database, user_id: str, topic: str, query: str, *, limit: int,
                           now: dt.datetime | None = None) -> AddResult:
    """Save a topic unless the user already has its query or has `limit` topics (checked atomically)."""
    stamp = iso(now or now_utc())
    async with db.transaction() as conn:
        await _ensure_user(conn, user_id, stamp)
        async with conn.execute("SELECT * FROM subscriptions WHERE user_id = ? AND query = ?",
                                (user_id, query)) as cursor:
            existing = await cursor.fetchone()
        async with conn.execute("SELECT COUNT(*) FROM subscriptions WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        count = int(row[0]) if row else 0
        if existing is not None:
            return AddResult("duplicate", _subscription(existing), count)
        if count >= limit:
            return AddResult("limit", None, count)
        async with conn.execute("INSERT INTO subscriptions (user_id, topic, query, created_at) VALUES (?, ?, ?, ?)"
                                " RETURNING *", (user_id, topic, query, stamp)) as cursor:
            inserted = await cursor.fetchone()
    assert inserted is not None
    return AddResult("added", _subscription(inserted), count + 1)


async def remove_subscription(db: Database, user_id: str, query: str) -> bool:
    return await db.execute("DELETE FROM subscriptions WHERE user_id = ? AND query = ?", (user_id, query)) > 0


async def list_subscriptions(db: Database, user_id: str | None = None) -> list[Subscription]:
    """A user's topics (everyone's when None), oldest first."""
    rows = await db.fetchall("SELECT * FROM subscriptions WHERE ? IS NULL OR user_id = ? ORDER BY user_id, id",
                             (user_id, user_id))
    return [_subscription(r) for r in rows]


async def active_queries(db: Database) -> list[str]:
    """The distinct canonical queries of users who are not paused (covered by subscriptions_query)."""
    rows = await db.fetchall(
        "SELECT DISTINCT s.query FROM subscriptions AS s JOIN subscription_users AS u ON u.user_id = s.user_id"
        " WHERE u.paused = 0")
    return [r[0] for r in rows]


async def active_subscribers(db: Database, queries: Sequence[str]) -> list[tuple[str, str]]:
    """(user, query) of every active subscription to one of `queries`, each user's in the order they
    subscribed. Plain tuples: a popular digest fans out to tens of thousands of rows."""
    rows = await db.fetchall(
        "SELECT s.user_id, s.query FROM json_each(?) AS q JOIN subscriptions AS s ON s.query = q.value"
        " JOIN subscription_users AS u ON u.user_id = s.user_id WHERE u.paused = 0 ORDER BY s.user_id, s.id",
        (json.dumps(list(queries)),))
    return [(r[0], r[1]) for r in rows]


async def prefs_of(conn: aiosqlite.Connection, user_ids: Iterable[str]) -> dict[str, UserPrefs]:
    async with conn.execute(
        "SELECT u.* FROM json_each(?) AS k JOIN subscription_users AS u ON u.user_id = k.value",
        (json.dumps(list(user_ids)),),
    ) as cursor:
        return {r["user_id"]: _prefs(r) for r in await cursor.fetchall()}


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


async def read_papers(db: Database, paper_ids: Sequence[int], *,
                      digest_id: int | None = None) -> list[PaperText]:
    """The stored texts of `paper_ids`: in the digest's order when `digest_id` is given, else by id."""
    rows = await db.fetchall(
        "SELECT p.id, p.title, p.abstract FROM json_each(?) AS k JOIN papers AS p ON p.id = k.value"
        " LEFT JOIN digest_entries AS e ON e.digest_id = ? AND e.paper_id = p.id ORDER BY e.position, p.id",
        (json.dumps(list(paper_ids)), digest_id))
    return [PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def postings(papers: Iterable[PaperText]) -> dict[str, list[Posting]]:
    """token -> where it occurs in the papers' titles and abstracts (tokenized in memory: cheap for
    a digest's hundred or so papers)."""
    out: dict[str, list[Posting]] = {}
    for token, doc, col, offset in _instances((p.id, p.title, p.abstract) for p in papers):
        out.setdefault(token, []).append(Posting(doc, col, offset))
    return out


async def papers_listed_since(db: Database, since: dt.date) -> list[tuple[int, dt.date, int]]:
    """(paper id, newest listing date, position there) of papers listed in a digest dated `since` or
    later, newest listing first."""
    rows = await db.fetchall(
        "SELECT e.paper_id, MAX(d.date) AS day, MIN(e.position) AS position FROM digests AS d"
        " JOIN digest_entries AS e ON e.digest_id = d.id WHERE d.date >= ?"
        " GROUP BY e.paper_id ORDER BY day DESC, position, e.paper_id",
        (since.isoformat(),),
    )
    return [(int(r[0]), dt.date.fromisoformat(r[1]), int(r[2])) for r in rows]


async def newest_digest_date(db: Database) -> dt.date | None:
    row = await db.fetchone("SELECT MAX(date) AS d FROM digests")
    return dt.date.fromisoformat(row["d"]) if row and row["d"] else None
