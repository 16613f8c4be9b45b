"""What users do with their topics: subscribe (with a preview), unsubscribe, list, preferences.

One entry point per action for every front end (the CLI, Discord commands, the console). Inputs are
what the user typed; every refusal is a SubscriptionError whose message says what to do instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.config import SubscriptionSettings
from bot.schedule.settings import ScheduleError, parse_target
from bot.subscriptions.matching import DigestIndex, matched_terms, prepare
from bot.subscriptions.topics import SubscriptionError, Topic, parse_topic, parse_user
from storage import subscriptions as sub_repo
from storage.db import Database
from storage.search.fts import matching_ids
from storage.subscriptions import DELIVERY_KINDS, Subscription, UserPrefs

MAX_CAP = 25
PREVIEW_EXAMPLES = 3


class DuplicateTopic(SubscriptionError):
    """The user already follows this topic (perhaps written differently)."""

    def __init__(self, existing: Subscription) -> None:
        super().__init__(f"you already follow this topic, saved as “{existing.topic}”; nothing changed")
        self.existing = existing


@dataclass(frozen=True, slots=True)
class PreviewPaper:
    paper_id: int
    title: str
    listed: dt.date  # its newest listing
    terms: tuple[str, ...]  # the topic's words found in it


@dataclass(frozen=True, slots=True)
class Preview:
    """How a topic would have done lately: matches in the digests of `days` days up to `until`."""

    topic: Topic
    days: int
    until: dt.date | None  # the newest digest's date; None when the archive has no digest
    count: int
    recent: tuple[PreviewPaper, ...]  # the newest few matches, newest first


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: Subscription | None  # None for a preview that was not saved
    preview: Preview
    count: int  # the user's topics now
    limit: int


async def preview(db: Database, topic: Topic, *, days: int = 30) -> Preview:
    """Count the topic's matches among papers listed in the last `days` days of stored digests,
    with FTS5 (search's own matcher), and show the newest few with the words that matched."""
    until = await sub_repo.newest_digest_date(db)
    if until is None:
        return Preview(topic, days, None, 0, ())
    # Saturating: a digest dated near the calendar's start (stored before dates were checked) is no error.
    since = until - dt.timedelta(days=days) if until > dt.date.min + dt.timedelta(days=days) else dt.date.min
    listed = await sub_repo.papers_listed_since(db, since)
    matched = await matching_ids(db, topic.query, [pid for pid, _, _ in listed])
    newest = [(pid, day) for pid, day, _ in listed if pid in matched][:PREVIEW_EXAMPLES]
    texts = {p.id: p for p in await sub_repo.read_papers(db, [pid for pid, _ in newest])}
    index = DigestIndex.build(list(texts.values()))
    tokens = prepare([topic.query])
    bits = {pid: 1 << i for i, pid in enumerate(index.paper_ids)}
    recent = tuple(PreviewPaper(pid, texts[pid].title, day, matched_terms(index, topic.query, tokens, bits[pid]))
                   for pid, day in newest if pid in texts)
    return Preview(topic, days, until, len(matched), recent)


async def subscribe(db: Database, settings: SubscriptionSettings, user: str, text: str, *,
                    save: bool = True) -> Subscribed:
    """Validate and save a topic, with its preview (`save=False`: the preview only)."""
    user_id = parse_user(user)
    topic = parse_topic(text)
    shown = await preview(db, topic, days=settings.preview_days)
    if not save:
        existing = await sub_repo.list_subscriptions(db, user_id)
        return Subscribed(None, shown, len(existing), settings.max_topics)
    added = await sub_repo.add_subscription(db, user_id, topic.text, topic.key, limit=settings.max_topics)
    if added.status == "duplicate":
        assert added.subscription is not None
        raise DuplicateTopic(added.subscription)
    if added.status == "limit":
        raise SubscriptionError(f"you already follow {added.count} topics, the most allowed "
                                f"({settings.max_topics}); remove one first")
    return Subscribed(added.subscription, shown, added.count, settings.max_topics)


async def unsubscribe(db: Database, user: str, text: str) -> Subscription:
    """Remove a topic, given as typed (any spelling of the same query) or by its number in the list."""
    user_id = parse_user(user)
    current = await sub_repo.list_subscriptions(db, user_id)
    try:
        key: str | None = parse_topic(text).key
    except SubscriptionError:
        key = None
    found = next((s for s in current if s.query == key), None)
    if found is None and text.strip().isdigit():
        found = next((s for s in current if s.id == int(text.strip())), None)
    if found is None:
        names = ", ".join(f"“{s.topic}”" for s in current) or "none yet"
        raise SubscriptionError(f"you do not follow “{' '.join(text.split())}”; your topics: {names}")
    await sub_repo.remove_subscription(db, user_id, found.query)
    return found


async def topics(db: Database, user: str | None = None) -> list[Subscription]:
    """A user's topics (everyone's when None), each user's oldest first."""
    return await sub_repo.list_subscriptions(db, parse_user(user) if user else None)


async def preferences(db: Database, user: str) -> UserPrefs:
    return await sub_repo.get_prefs(db, parse_user(user))


async def set_preferences(db: Database, user: str, *, paused: bool | None = None, delivery: str | None = None,
                          fallback: bool | None = None, server: str | None = None,
                          cap: int | None = None) -> UserPrefs:
    """Change some preferences; options left as None keep their value. `server=""` forgets the server."""
    user_id = parse_user(user)
    values: dict[str, Any] = {}
    if paused is not None:
        values["paused"] = paused
    if fallback is not None:
        values["fallback"] = fallback
    if delivery is not None:
        if delivery not in DELIVERY_KINDS:
            raise SubscriptionError(f"delivery '{delivery}' is not one of: {', '.join(DELIVERY_KINDS)}")
        values["delivery"] = delivery
    if server is not None:
        try:
            values["guild_id"] = parse_target(server, "server") if server.strip() else None
        except ScheduleError as exc:
            raise SubscriptionError(str(exc)) from None
    if cap is not None:
        if not 1 <= cap <= MAX_CAP:
            raise SubscriptionError(f"the cap must be between 1 and {MAX_CAP} papers per notification, not {cap}")
        values["cap"] = cap
    current = await sub_repo.get_prefs(db, user_id)
    guild = values.get("guild_id", current.guild_id)
    if values.get("delivery", current.delivery) == "channel" and guild is None:
        raise SubscriptionError("a mention in the digest thread needs a server: give the server id too")
    return await sub_repo.save_prefs(db, user_id, **values)
