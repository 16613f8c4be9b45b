""""Why did I (not) get this paper?"."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.subscriptions import service
from bot.subscriptions.explain import explain
from bot.subscriptions.send import NotificationSender
from bot.subscriptions.topics import SubscriptionError
from storage.db import Database
from tests.bot.subscriptions.helpers import DAY, NOW, PAPERS, SETTINGS, Outbox, digest, load, loader


async def test_a_sent_paper_names_the_words_and_the_notification(db: Database) -> None:
    await service.subscribe(db, SETTINGS, "console:alice", "speculative decoding")
    await load(db)
    await NotificationSender(db, Outbox(), SETTINGS, clock=lambda: NOW).send_pending()
    [why] = await explain(db, SETTINGS, "console:alice", "2501.00001")
    assert why.matches and why.matched_terms == ("decoding", "speculative")
    assert why.reasons[0] == "it matches: “decoding”, “speculative” found"
    assert why.reasons[1].startswith("it was in notification #1 for hf-daily 2025-09-09 (direct message, sent)")


@pytest.mark.parametrize(("topic", "reason"), [
    ("kv cache -compression", "it mentions “compression”, which the topic excludes"),
    ("title:language OR title:mamba", "none of “title:language”, “title:mamba” appears in its title"),
    ("gaussian", "“gaussian” does not appear in its title or abstract"),
])
async def test_a_paper_that_does_not_match_says_which_part_failed(db: Database, topic: str, reason: str) -> None:
    await load(db)
    [why] = await explain(db, SETTINGS, "console:alice", "2501.00003", topic)
    assert not why.matches and reason in why.reasons
    assert "you do not follow this topic" in why.reasons


async def test_matching_but_not_notified_says_why(db: Database) -> None:
    await loader(db).load(digest(PAPERS, DAY - dt.timedelta(days=1)))
    await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    [why] = await explain(db, SETTINGS, "console:alice", "2501.00005")
    assert why.matches and why.notification is None
    assert any("after the newest digest listing it" in r for r in why.reasons)


async def test_past_the_cap(db: Database) -> None:
    await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    await service.set_preferences(db, "console:alice", cap=1)
    await load(db)
    [why] = await explain(db, SETTINGS, "console:alice", "2501.00005")
    assert any("“and N more”, past your cap of 1" in r for r in why.reasons)


async def test_unknown_papers_and_users_without_topics(db: Database) -> None:
    with pytest.raises(SubscriptionError, match="no paper '9999.99999'"):
        await explain(db, SETTINGS, "console:alice", "9999.99999")
    await load(db)
    with pytest.raises(SubscriptionError, match="follows no topics"):
        await explain(db, SETTINGS, "console:alice", "2501.00001")
