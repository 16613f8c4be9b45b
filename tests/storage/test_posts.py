"""The post log: one row per server and day, compare-and-set status changes, listings."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import posts
from storage.db import Database
from tests.storage.raw import insert_digest

pytestmark = pytest.mark.both_backends

DAY = dt.date(2025, 9, 10)
NOW = dt.datetime(2025, 9, 10, 7, tzinfo=dt.UTC)


async def claim(db: Database, guild: str = "discord:1", channel: str = "discord:10", key: str = "k1",
                day: dt.date = DAY, **kw: object) -> posts.PostRecord | None:
    return await posts.claim(db, guild_id=guild, channel_id=channel, post_date=day, kind="digest", key=key,
                             now=NOW, **kw)  # type: ignore[arg-type]


async def test_a_servers_day_is_claimed_once(db: Database) -> None:
    first = await claim(db)
    assert first is not None and (first.status, first.attempts, first.created_at) == ("pending", 0, NOW)
    assert await claim(db, channel="discord:11", key="k2") is None  # same server and day
    assert await claim(db, guild="discord:2", key="k1") is None  # same idempotency key
    assert await claim(db, guild="discord:2", key="k3") is not None
    assert await claim(db, day=DAY + dt.timedelta(days=1), key="k4") is not None


async def test_status_changes_are_compare_and_set(db: Database) -> None:
    row = await claim(db)
    assert row is not None
    assert await posts.update_post(db, row.id, expect="pending", status="sending", attempts=1)
    assert not await posts.update_post(db, row.id, expect="pending", status="sending", attempts=2)
    retry_at = NOW + dt.timedelta(minutes=1)
    assert await posts.update_post(db, row.id, expect=("sending",), status="pending", next_attempt_at=retry_at,
                                   error="502")
    got = await posts.get_post(db, row.id)
    assert got is not None and (got.status, got.attempts, got.next_attempt_at, got.error) == (
        "pending", 1, retry_at, "502")


async def test_update_refuses_columns_it_does_not_own(db: Database) -> None:
    row = await claim(db)
    assert row is not None
    with pytest.raises(ValueError, match="guild_id"):
        await posts.update_post(db, row.id, guild_id="discord:2")


async def test_listing_names_the_digest_and_filters(db: Database) -> None:
    await claim(db, digest_id=await insert_digest(db, "hf-daily", DAY))
    await claim(db, guild="discord:2", key="k2", status="skipped", reason="no digest")
    listed = await posts.list_posts(db)
    assert [(p.guild_id, p.digest_source, p.digest_date) for p in listed] == [
        ("discord:1", "hf-daily", DAY), ("discord:2", None, None)]
    assert [p.guild_id for p in await posts.list_posts(db, status="skipped")] == ["discord:2"]
    assert [p.guild_id for p in await posts.list_posts(db, guild_id="discord:1")] == ["discord:1"]
    assert [p.status for p in await posts.posts_in_status(db, ["pending"])] == ["pending"]
    assert await posts.count_by_status(db) == {"pending": 1, "skipped": 1}
