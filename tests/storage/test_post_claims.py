"""Claiming the daily post's days, from two database handles at once.

Two handles on one database behave as two processes would: on PostgreSQL they are two pools
(and two sessions for the holds), on SQLite two connections to one file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from storage import posts
from storage.backends import open_database
from storage.db import Database
from storage.posts import Claim

pytestmark = pytest.mark.both_backends

DAY = dt.date(2025, 9, 10)
NOW = dt.datetime(2025, 9, 10, 7, tzinfo=dt.UTC)


def days(servers: int) -> list[Claim]:
    return [Claim(f"discord:{i}", f"discord:{i}0", DAY, "digest", f"post:{i}:{DAY}") for i in range(servers)]


@pytest.fixture
async def other(db_address: str, db: Database) -> AsyncIterator[Database]:
    """A second handle on `db`'s database, as another process has."""
    second = await open_database(db_address)
    try:
        yield second
    finally:
        await second.close()


async def test_two_handles_racing_for_the_same_days_claim_each_once(db: Database, other: Database) -> None:
    claims = days(40)
    # The second claims in the opposite order: on PostgreSQL the two can deadlock on the unique
    # index, and the one rolled back claims again.
    first, second = await asyncio.gather(posts.claim_many(db, claims, now=NOW),
                                         posts.claim_many(other, claims[::-1], now=NOW))
    won = [a if a is not None else b for a, b in zip(first, second[::-1], strict=True)]
    assert all((a is None) != (b is None) for a, b in zip(first, second[::-1], strict=True))
    assert [w.guild_id for w in won if w is not None] == [c.guild_id for c in claims]
    assert len(await posts.posts_in_status(db, ["pending"])) == 40
    # Claimed again (a third process, or a restart): every day is taken.
    assert await posts.claim_many(other, claims, now=NOW) == [None] * 40


async def test_claims_keep_their_order_and_a_used_key_is_a_day_taken(db: Database) -> None:
    first = await posts.claim_many(db, days(3), now=NOW)
    assert [p.guild_id for p in first if p is not None] == ["discord:0", "discord:1", "discord:2"]
    assert [p.id for p in first if p is not None] == sorted(p.id for p in first if p is not None)
    reused = Claim("discord:9", "discord:90", DAY, "digest", days(1)[0].key)  # another server, a used key
    assert await posts.claim_many(db, [reused, *days(4)[3:]], now=NOW) == [None, await posts.get_post(db, 4)]
    assert await posts.claim_many(db, []) == []
