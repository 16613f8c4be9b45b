"""Sending notifications: the cap, fallback when direct messages are refused, retries, channel keys."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

import pytest

from bot.chat.outbound import RecipientUnreachable, Sent, TemporaryFailure
from bot.chat.replies import Reply, violations
from bot.subscriptions import service
from bot.subscriptions.send import NotificationSender, notification_key
from storage import guilds as guild_repo
from storage import notifications as notification_repo
from storage.backends import open_database
from storage.db import Database
from storage.guilds import GuildSchedule
from storage.records import PaperRecord
from tests.bot.schedule.fakes import Crash
from tests.bot.subscriptions.helpers import NOW, SETTINGS, Outbox, load, titles_in


def sender(db: Database, outbox: Outbox, at: dt.datetime = NOW) -> NotificationSender:
    return NotificationSender(db, outbox, SETTINGS, clock=lambda: at)


async def with_server(db: Database) -> None:
    await guild_repo.save_schedule(db, GuildSchedule("console:lab", "console:lab-papers", dt.time(9), "UTC"))


MANY = [PaperRecord(f"Decoding trick number {i} " + "with a long title " * 8, "Decoding. " + "Long text. " * 200,
                    f"2502.{i:05d}") for i in range(30)]


@pytest.mark.parametrize(("cap", "listed", "more"), [(None, 10, 20), (3, 3, 27), (25, 25, 5)])
async def test_the_cap_lists_some_and_counts_the_rest(db: Database, cap: int | None, listed: int, more: int) -> None:
    await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    if cap:
        await service.set_preferences(db, "console:alice", cap=cap)
    await load(db, MANY)
    outbox = Outbox()
    [done] = await sender(db, outbox).send_pending()
    assert done.status == "sent" and len(done.papers) == 30  # the log keeps all of them
    reply = outbox.direct[0][1]
    assert violations(reply) == [] and reply.private
    text = titles_in(reply)
    assert text.count("Decoding trick number") == listed
    assert f"and {more} more matching papers" in text


async def test_closed_direct_messages_fall_back_to_the_digest_thread(db: Database) -> None:
    await with_server(db)
    await service.subscribe(db, SETTINGS, "discord:42", "decoding")
    await service.set_preferences(db, "discord:42", server="console:lab")
    await load(db)
    outbox = Outbox(closed={"discord:42"})
    [done] = await sender(db, outbox).send_pending()
    assert (done.status, done.kind, done.channel_id) == ("sent", "channel", "console:lab-papers")
    assert done.reason is not None and done.reason.startswith("dm_closed; fell back")
    [message] = outbox.messages
    assert message.key == notification_key(done.id) and message.reply.text.startswith("<@42>")
    assert not message.reply.private and violations(message.reply) == []
    [logged] = await notification_repo.list_notifications(db)
    assert done.message_id == logged.message_id == message.message_id and logged.status == "sent"


async def test_a_round_to_many_users_sends_each_once_and_logs_each_sent(db: Database) -> None:
    users = [f"console:user{i}" for i in range(23)]
    for user in users:
        await service.subscribe(db, SETTINGS, user, "decoding")
    await load(db)
    outbox = Outbox()
    done = await sender(db, outbox).send_pending()
    assert sorted(d.user_id for d in done) == sorted(users) and {(d.status, d.attempts) for d in done} == {("sent", 1)}
    assert sorted(u for u, _ in outbox.direct) == sorted(users)
    assert {d.status for d in await notification_repo.list_notifications(db)} == {"sent"}
    assert await sender(db, outbox).send_pending() == [] and len(outbox.direct) == len(users)


async def test_closed_direct_messages_without_another_way_fail_with_a_reason(db: Database) -> None:
    await service.subscribe(db, SETTINGS, "discord:42", "decoding")
    await load(db)
    [done] = await sender(db, Outbox(closed={"discord:42"})).send_pending()
    assert (done.status, done.reason) == ("failed", "dm_closed")


async def test_no_fallback_when_the_user_said_no(db: Database) -> None:
    await with_server(db)
    await service.subscribe(db, SETTINGS, "discord:42", "decoding")
    await service.set_preferences(db, "discord:42", server="console:lab", fallback=False)
    await load(db)
    outbox = Outbox(closed={"discord:42"})
    [done] = await sender(db, outbox).send_pending()
    assert (done.status, done.reason, outbox.messages) == ("failed", "dm_closed", [])


async def test_channel_preference_falls_back_to_a_direct_message_when_the_channel_is_gone(db: Database) -> None:
    await with_server(db)
    await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    await service.set_preferences(db, "console:alice", server="console:lab", delivery="channel")
    await load(db)
    outbox = Outbox(fail_next=[RecipientUnreachable("Unknown Channel")])
    [done] = await sender(db, outbox).send_pending()
    assert (done.status, done.kind) == ("sent", "direct")
    assert done.reason is not None and done.reason.startswith("channel_unreachable")
    assert [u for u, _ in outbox.direct] == ["console:alice"]


async def test_temporary_failures_are_retried_later_then_given_up(db: Database) -> None:
    await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    await load(db)
    outbox = Outbox(fail_next=[TemporaryFailure("502") for _ in range(SETTINGS.retry_attempts)])
    [first] = await sender(db, outbox).send_pending()
    assert first.status == "pending" and first.next_attempt_at == NOW + dt.timedelta(seconds=60)
    assert await sender(db, outbox).send_pending() == []  # not due yet
    at = NOW
    for _ in range(SETTINGS.retry_attempts - 1):
        at += dt.timedelta(hours=1)
        [last] = await sender(db, outbox, at).send_pending()
    assert last.status == "failed" and last.reason == f"gave up after {SETTINGS.retry_attempts} attempts: 502"


async def test_two_senders_never_send_the_same_row(db: Database) -> None:
    await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    await load(db)
    outbox = Outbox()
    [row] = await notification_repo.notifications_in_status(db, ["pending"])
    first = await sender(db, outbox).send_one(row, NOW)
    second = await sender(db, outbox).send_one(row, NOW)
    assert first is not None and first.status == "sent" and second is None
    assert len(outbox.direct) == 1


@pytest.mark.parametrize("delivery", ["channel", "direct"])
async def test_an_interrupted_notification_is_resent_with_its_key(db: Database, delivery: str) -> None:
    await with_server(db)
    await service.subscribe(db, SETTINGS, "console:alice", "decoding")
    await service.set_preferences(db, "console:alice", server="console:lab", delivery=delivery)
    await load(db)
    outbox = Outbox(crash_after_send=delivery == "channel", crash_after_direct=delivery == "direct")
    with pytest.raises(Crash):
        await sender(db, outbox).send_pending()
    restarted = sender(db, outbox, NOW + dt.timedelta(seconds=30))
    [settled] = await restarted.recover()
    assert settled.status == "pending"
    [done] = await restarted.send_pending()
    assert done.status == "sent" and len(outbox.messages) + len(outbox.direct) == 1  # the key returned the first


@dataclass
class CountingOutbox(Outbox):
    """Every request, deduplicated or not: a notification sent twice shows here even with its key."""

    requests: list[str] = field(default_factory=list)

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        self.requests.append(key or user_id)
        await asyncio.sleep(0)  # let the other process's round interleave with this one
        return await super().send_direct(user_id, reply, key=key)


async def test_two_processes_draining_the_same_log_send_each_notification_once(pg_url: str) -> None:
    """PostgreSQL only: several processes share a database there (SQLite serves one process)."""
    db, other = await open_database(pg_url), await open_database(pg_url)  # two processes' handles
    try:
        users = [f"console:u{i:02}" for i in range(30)]
        for user in users:
            await service.subscribe(db, SETTINGS, user, "decoding")
        await load(db)
        outbox = CountingOutbox()
        mine, theirs = await asyncio.gather(sender(db, outbox).send_pending(), sender(other, outbox).send_pending())
        assert sorted(outbox.requests) == sorted(notification_key(r.id) for r in [*mine, *theirs])
        assert len(outbox.requests) == len(users) and len(set(outbox.requests)) == len(users)
        assert {r.status for r in await notification_repo.list_notifications(db)} == {"sent"}
    finally:
        await other.close()
        await db.close()
