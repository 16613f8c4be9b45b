"""The subscriptions repository: topics, preferences, and the index's tokenizer used for matching."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from storage import subscriptions as repo
from storage.backends import open_database
from storage.db import Database, iso
from storage.postgres.db import PostgresDatabase
from storage.subscriptions import PaperText, Posting
from tests.storage.raw import AT, insert_digest

pytestmark = pytest.mark.both_backends


async def test_add_refuses_duplicates_and_enforces_the_limit(db: Database) -> None:
    first = await repo.add_subscription(db, "console:a", "KV cache", "cache kv", limit=2)
    assert first.status == "added" and first.count == 1
    again = await repo.add_subscription(db, "console:a", "kv  cache", "cache kv", limit=2)
    assert again.status == "duplicate" and again.subscription == first.subscription and again.count == 1
    await repo.add_subscription(db, "console:a", "b", "b", limit=2)
    full = await repo.add_subscription(db, "console:a", "c", "c", limit=2)
    assert (full.status, full.subscription, full.count) == ("limit", None, 2)
    assert [s.query for s in await repo.list_subscriptions(db, "console:a")] == ["cache kv", "b"]


async def test_remove_and_list(db: Database) -> None:
    await repo.add_subscription(db, "console:a", "x", "x", limit=5)
    await repo.add_subscription(db, "console:b", "x", "x", limit=5)
    assert await repo.remove_subscription(db, "console:a", "x")
    assert not await repo.remove_subscription(db, "console:a", "x")
    assert [s.user_id for s in await repo.list_subscriptions(db)] == ["console:b"]


async def test_active_queries_and_subscribers_leave_out_paused_users(db: Database) -> None:
    for user, query in (("console:a", "x"), ("console:b", "x"), ("console:b", "y"), ("console:c", "z")):
        await repo.add_subscription(db, user, query, query, limit=5)
    await repo.save_prefs(db, "console:c", paused=True)
    assert sorted(await repo.active_queries(db)) == ["x", "y"]
    subs = await repo.active_subscribers(db, ["x", "z"])
    assert subs == [("console:a", "x"), ("console:b", "x")]


async def test_preferences_default_then_saved(db: Database) -> None:
    assert await repo.get_prefs(db, "console:new") == repo.UserPrefs("console:new")
    saved = await repo.save_prefs(db, "console:new", delivery="channel", guild_id="console:lab", cap=3)
    assert saved == repo.UserPrefs("console:new", False, "channel", True, "console:lab", 3)
    assert await repo.list_users(db) == [saved]
    with pytest.raises(ValueError, match="not a preference"):
        await repo.save_prefs(db, "console:new", colour="red")


def test_tokenize_uses_the_index_tokenizer() -> None:
    found = repo.tokenize(["Speculative Decoding", "naïve Models", "GPT-4", "!!", "speculative decoding"])
    assert found == {"Speculative Decoding": ("specul", "decod"), "naïve Models": ("naiv", "model"),
                     "GPT-4": ("gpt", "4"), "!!": (), "speculative decoding": ("specul", "decod")}


def test_postings_give_column_and_position() -> None:
    found = repo.postings([PaperText(7, "KV cache", "The cache")])
    assert sorted(found["cach"], key=lambda p: p.column) == [Posting(7, "abstract", 1), Posting(7, "title", 1)]
    assert found["kv"] == [Posting(7, "title", 0)]


async def insert_paper(db: Database, title: str, abstract: str, listed: dt.date) -> int:
    """A paper written with plain SQL (the loader is not what these tests are about)."""
    if isinstance(db, PostgresDatabase):
        row = await db.fetchone("INSERT INTO papers (title_key, title, abstract, first_listed, created_at, updated_at)"
                                " VALUES ($1, $1, $2, $3, $4, $4) RETURNING id", (title, abstract, listed, AT))
    else:
        row = await db.fetchone("INSERT INTO papers (title_key, title, abstract, first_listed, created_at, updated_at)"
                                " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                (title, title, abstract, listed.isoformat(), iso(AT), iso(AT)))
    assert row is not None
    return int(row["id"])


async def list_in(db: Database, digest_id: int, paper_ids: list[int]) -> None:
    sql = ("INSERT INTO digest_entries (digest_id, paper_id, position) VALUES ($1, $2, $3)"
           if isinstance(db, PostgresDatabase) else
           "INSERT INTO digest_entries (digest_id, paper_id, position) VALUES (?, ?, ?)")
    for position, paper_id in enumerate(paper_ids):
        await db.execute(sql, (digest_id, paper_id, position))


async def test_what_matching_reads_in_digest_order(db: Database) -> None:
    day = dt.date(2025, 9, 9)
    assert await repo.newest_digest_date(db) is None
    a, b, c = [await insert_paper(db, f"Paper {n}", f"About {n}.", day) for n in "abc"]
    first = await insert_digest(db, "hf-daily", day, papers=2)
    await list_in(db, first, [c, a])
    second = await insert_digest(db, "arxiv-rss", day + dt.timedelta(days=1), papers=1)
    await list_in(db, second, [a])
    # A paper the digest does not list comes first, then the digest's order.
    assert [p.id for p in await repo.read_papers(db, [a, b, c], digest_id=first)] == [b, c, a]
    assert await repo.read_papers(db, [c, a]) == [PaperText(a, "Paper a", "About a."),
                                                  PaperText(c, "Paper c", "About c.")]
    assert await repo.newest_digest_date(db) == day + dt.timedelta(days=1)
    assert await repo.papers_listed_since(db, day) == [(a, day + dt.timedelta(days=1), 0), (c, day, 0)]
    assert await repo.papers_listed_since(db, day + dt.timedelta(days=2)) == []


async def test_users_are_ordered_as_bytes(db: Database) -> None:
    for user in ("console:b", "console:B", "console:a", "console:_"):
        await repo.add_subscription(db, user, "x", "x", limit=5)
    order = ["console:B", "console:_", "console:a", "console:b"]
    assert [u.user_id for u in await repo.list_users(db)] == order
    assert [s.user_id for s in await repo.list_subscriptions(db)] == order
    assert [u for u, _ in await repo.active_subscribers(db, ["x"])] == order
    assert await repo.prefs_of(db, ["console:a", "console:nobody"]) == {"console:a": repo.UserPrefs("console:a")}


async def test_two_processes_adding_at_once_respect_the_limit(db: Database, db_address: str) -> None:
    other = await open_database(db_address)
    try:
        results = await asyncio.gather(*(
            repo.add_subscription(handle, "console:a", f"topic {i}{j}", f"topic {i}{j}", limit=3)
            for i in range(8) for j, handle in enumerate((db, other))))
    finally:
        await other.close()
    assert sorted(r.status for r in results) == ["added"] * 3 + ["limit"] * 13
    assert len(await repo.list_subscriptions(db, "console:a")) == 3
