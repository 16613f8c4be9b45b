"""The subscriptions repository: topics, preferences, and the index's tokenizer used for matching."""

from __future__ import annotations

import pytest

from storage import subscriptions as repo
from storage.db import Database
from storage.subscriptions import PaperText, Posting


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
