"""Subscribing with a preview, duplicates, the topic limit, unsubscribing, preferences."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.subscriptions import service
from bot.subscriptions.service import DuplicateTopic
from bot.subscriptions.topics import SubscriptionError
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord
from tests.bot.subscriptions.helpers import DAY, PAPERS, SETTINGS, digest


async def archive(db: Database) -> None:
    """Decoding papers on four days; the oldest is outside the 30-day preview."""
    loader = Loader(db)
    for days_ago, i in ((40, 0), (20, 1), (10, 2), (0, 3)):
        await loader.load(digest([PaperRecord(f"Decoding paper {i}", "About decoding.", f"2503.0000{i}"),
                                  PaperRecord(f"Other paper {i}", "Unrelated.", f"2503.1000{i}")],
                                 DAY - dt.timedelta(days=days_ago)))


async def test_subscribe_previews_the_last_30_days_newest_first(db: Database) -> None:
    await archive(db)
    done = await service.subscribe(db, SETTINGS, "console:alice", "Decoding")
    assert done.subscription is not None and done.subscription.topic == "Decoding"
    p = done.preview
    assert (p.count, p.until, p.days) == (3, DAY, 30)
    assert [(x.title, x.listed, x.terms) for x in p.recent] == [
        ("Decoding paper 3", DAY, ("decoding",)), ("Decoding paper 2", DAY - dt.timedelta(days=10), ("decoding",)),
        ("Decoding paper 1", DAY - dt.timedelta(days=20), ("decoding",))]


async def test_a_preview_alone_saves_nothing(db: Database) -> None:
    await archive(db)
    done = await service.subscribe(db, SETTINGS, "console:alice", "decoding", save=False)
    assert done.subscription is None and done.preview.count == 3
    assert await service.topics(db, "console:alice") == []


async def test_a_preview_on_an_empty_archive(db: Database) -> None:
    done = await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    assert (done.preview.count, done.preview.until, done.preview.recent) == (0, None, ())


async def test_duplicates_are_refused_politely_whatever_the_spelling(db: Database) -> None:
    await service.subscribe(db, SETTINGS, "console:alice", "KV cache -vision")
    with pytest.raises(DuplicateTopic, match="already follow this topic, saved as “KV cache -vision”"):
        await service.subscribe(db, SETTINGS, "console:alice", "cache kv -Vision")
    await service.subscribe(db, SETTINGS, "console:bob", "kv cache -vision")  # other users are separate


async def test_the_topic_limit(db: Database) -> None:
    small = dataclasses.replace(SETTINGS, max_topics=2)
    await service.subscribe(db, small, "console:alice", "a1")
    await service.subscribe(db, small, "console:alice", "b2")
    with pytest.raises(SubscriptionError, match=r"already follow 2 topics, the most allowed \(2\)"):
        await service.subscribe(db, small, "console:alice", "c3")


async def test_unsubscribe_by_any_spelling_or_number(db: Database) -> None:
    first = (await service.subscribe(db, SETTINGS, "console:alice", "Speculative Decoding")).subscription
    await service.subscribe(db, SETTINGS, "console:alice", "gaussian splatting")
    removed = await service.unsubscribe(db, "console:alice", "decoding speculative")
    assert first is not None and removed.id == first.id
    with pytest.raises(SubscriptionError, match="you do not follow “mamba”; your topics: “gaussian splatting”"):
        await service.unsubscribe(db, "console:alice", "mamba")
    [left] = await service.topics(db, "console:alice")
    await service.unsubscribe(db, "console:alice", str(left.id))
    assert await service.topics(db, "console:alice") == []


@pytest.mark.parametrize(("kw", "message"), [
    ({"delivery": "email"}, "delivery 'email' is not one of: direct, channel"),
    ({"cap": 0}, "the cap must be between 1 and 25"),
    ({"server": "lab"}, "server 'lab' is not an id"),
    ({"delivery": "channel"}, "needs a server"),
])
async def test_bad_preferences_are_named(db: Database, kw: dict[str, object], message: str) -> None:
    with pytest.raises(SubscriptionError, match=message):
        await service.set_preferences(db, "console:alice", **kw)  # type: ignore[arg-type]


async def test_preferences_round_trip(db: Database) -> None:
    assert await service.preferences(db, "console:alice") == service.UserPrefs("console:alice")
    prefs = await service.set_preferences(db, "console:alice", server="12", delivery="channel", cap=5, paused=True)
    assert (prefs.guild_id, prefs.delivery, prefs.cap, prefs.paused, prefs.fallback) == (
        "discord:12", "channel", 5, True, True)
    prefs = await service.set_preferences(db, "console:alice", paused=False)
    assert (prefs.paused, prefs.cap) == (False, 5)


def test_the_papers_fixture_is_used() -> None:
    assert PAPERS
