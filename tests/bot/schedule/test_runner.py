"""The daily post end to end on a real database (both backends), with an injected clock and a fake
transport: exactly once, late digests, downtime, crashes mid-send, retries, threads, DST, two servers."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest

from bot.chat.outbound import RecipientUnreachable, Sent, TemporaryFailure
from bot.chat.replies import Reply
from bot.schedule.clock import ManualClock
from bot.schedule.decide import Policy
from bot.schedule.runner import PostingRunner
from bot.schedule.settings import set_schedule
from storage import guilds as guild_repo
from storage import posts as post_repo
from storage.db import Database
from storage.errors import ConnectionLost
from storage.posts import PostRecord
from storage.records import DigestInfo
from tests.bot.schedule.fakes import Crash, FakeOutbound, render_pages, store_digest, utc

pytestmark = pytest.mark.both_backends

DAY = dt.date(2025, 9, 10)
SLOT = utc(2025, 9, 10, 7)  # 09:00 in Berlin
POLICY = Policy(late_cutoff=dt.timedelta(hours=6), grace=dt.timedelta(hours=3),
                resend_window=dt.timedelta(minutes=2), retry_attempts=3)


def runner(db: Database, outbound: FakeOutbound, start: dt.datetime = SLOT, **kw: object) -> PostingRunner:
    return PostingRunner(db, outbound, render_pages, clock=ManualClock(start), policy=POLICY, **kw)  # type: ignore[arg-type]


async def berlin(db: Database, guild: str = "discord:1", at: str = "09:00", tz: str = "Europe/Berlin",
                 created: dt.datetime = utc(2025, 9, 10, 6), **kw: object) -> None:
    await set_schedule(db, guild, channel=f"{guild}0", time=at, timezone=tz, now=created, **kw)  # type: ignore[arg-type]


async def log(db: Database) -> list[PostRecord]:
    return await post_repo.list_posts(db)


async def test_posted_at_its_time_once_with_the_list_in_a_thread(db: Database) -> None:
    await berlin(db, role="77")
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound()
    r = runner(db, out)
    assert (await r.run_due(SLOT - dt.timedelta(minutes=1))).sent == []
    report = await r.run_due(SLOT)
    assert [p.guild_id for p in report.sent] == ["discord:1"] and report.made_up == []
    main, *pages = out.messages
    assert main.channel_id == "discord:10" and main.reply.mention_role_id == 77
    assert [p.reply.text for p in pages] == ["page 1", "page 2"] and {p.channel_id for p in pages} == {"t1"}
    for later in (SLOT + dt.timedelta(minutes=1), SLOT + dt.timedelta(hours=5)):
        assert (await r.run_due(later)).sent == []
    assert len(out.messages) == 3
    [row] = await log(db)
    assert (row.status, row.message_id, row.thread_id, row.pages_sent, row.digest_source) == (
        "sent", "m1", "t1", 2, "hf-daily")


async def test_a_lost_connection_is_one_warning_without_a_traceback_and_the_next_tick_posts(
        db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    await berlin(db)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound()
    r = runner(db, out)
    list_schedules = guild_repo.list_schedules

    async def server_restarting_once(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(guild_repo, "list_schedules", list_schedules)  # back for the next tick
        raise ConnectionLost("the connection to PostgreSQL at postgresql://db/paperboy was lost; try again in a moment")

    monkeypatch.setattr(guild_repo, "list_schedules", server_restarting_once)
    with caplog.at_level(logging.WARNING):
        await r.kick()
        assert [(rec.levelno, rec.getMessage(), rec.exc_info) for rec in caplog.records] == [
            (logging.WARNING, "the daily-post run paused: the connection to PostgreSQL at postgresql://db/paperboy "
                              "was lost; try again in a moment", None)]
        assert "Traceback" not in caplog.text and out.messages == []
        caplog.clear()
        await r.kick()
        assert caplog.records == []
    assert len(out.messages) == 3
    [row] = await log(db)
    assert row.status == "sent"


async def test_without_thread_only_the_post_goes_out(db: Database) -> None:
    await berlin(db, thread=False)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound()
    await runner(db, out).run_due(SLOT)
    assert len(out.messages) == 1 and out.threads == {}


async def test_late_digest_posted_on_arrival_and_not_after_the_cut_off(db: Database) -> None:
    await berlin(db, "discord:1")
    await berlin(db, "discord:2", tz="Europe/Berlin", on_empty="note")
    out = FakeOutbound()
    r = runner(db, out)
    assert (await r.run_due(SLOT)).sent == []  # not in yet: wait
    await store_digest(db, DAY, utc(2025, 9, 10, 10, 30))
    report = await r.run_due(utc(2025, 9, 10, 10, 30, 5))
    assert sorted(p.guild_id for p in report.sent) == ["discord:1", "discord:2"]
    # Next day the digest only arrives after the 6-hour cut-off (13:00 UTC): skipped, no post.
    tomorrow = DAY + dt.timedelta(days=1)
    note = await r.run_due(utc(2025, 9, 11, 13))
    assert [p.guild_id for p in note.sent] == ["discord:2"]  # the no-digest note
    assert [p.guild_id for p in note.skipped] == ["discord:1"]
    await store_digest(db, tomorrow, utc(2025, 9, 11, 14))
    assert (await r.run_due(utc(2025, 9, 11, 14, 1))).sent == []
    statuses = {(p.guild_id, p.post_date): (p.status, p.kind) for p in await log(db)}
    assert statuses[("discord:1", tomorrow)] == ("skipped", "none")
    assert statuses[("discord:2", tomorrow)] == ("sent", "note")
    assert "No new papers digest" in out.messages[-1].reply.text


@pytest.mark.parametrize(("back_at", "sent", "made_up"), [
    (utc(2025, 9, 10, 9, 30), 1, 1),  # down 07:00-09:30, grace 3 h: made up
    (utc(2025, 9, 10, 10, 30), 0, 0),  # back after the grace window: skipped and recorded
])
async def test_downtime_inside_and_outside_the_grace_window(db: Database, back_at: dt.datetime, sent: int,
                                                             made_up: int) -> None:
    await berlin(db)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    r = runner(db, FakeOutbound(), start=back_at)
    report = await r.run_due()  # first run after start-up, on the injected clock
    assert (len(report.sent), len(report.made_up)) == (sent, made_up)
    [row] = await log(db)
    if not sent:
        assert row.status == "skipped" and row.reason is not None and row.reason.startswith("missed")


async def test_days_missed_during_a_long_downtime_are_each_recorded_as_skipped(db: Database) -> None:
    await berlin(db, created=utc(2025, 9, 1))
    for day in (8, 9, 10):
        await store_digest(db, dt.date(2025, 9, day), utc(2025, 9, day, 5))
    report = await runner(db, FakeOutbound()).run_due(utc(2025, 9, 10, 7, 30))
    assert [p.post_date.day for p in report.sent] == [10]
    # Looking back 7 days: Sep 3-7 had no digest, Sep 8-9 were missed while down.
    reasons = {p.post_date.day: (p.reason or "").split(" ")[0] for p in await log(db) if p.status == "skipped"}
    assert reasons == {3: "no", 4: "no", 5: "no", 6: "no", 7: "no", 8: "missed:", 9: "missed:"}


async def test_crash_between_sending_and_logging_never_repeats_the_post(db: Database) -> None:
    await berlin(db, thread=False)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound(crash_after_send=True)
    with pytest.raises(Crash):
        await runner(db, out).run_due(SLOT)
    [row] = await log(db)
    assert row.status == "sending" and len(out.messages) == 1
    # Restart a minute later: re-sent with the same key, the transport hands back the same message.
    restarted = runner(db, out, start=SLOT + dt.timedelta(minutes=1))
    assert await restarted.recover() == []
    report = await restarted.run_due()
    assert [p.status for p in report.sent] == ["sent"] and len(out.messages) == 1


async def test_a_send_stuck_past_the_dedupe_window_becomes_unknown_not_a_repeat(db: Database) -> None:
    await berlin(db, thread=False)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound(crash_after_send=True, honour_keys=False)
    with pytest.raises(Crash):
        await runner(db, out).run_due(SLOT)
    restarted = runner(db, out, start=SLOT + dt.timedelta(hours=1))
    assert [r.guild_id for r in await restarted.recover()] == ["discord:1"]
    await restarted.run_due()
    [row] = await log(db)
    assert row.status == "unknown" and len(out.messages) == 1


async def test_temporary_failures_retry_with_backoff_and_are_reported(db: Database) -> None:
    await berlin(db, thread=False)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound(fail_next=[TemporaryFailure("HTTP 502")])
    reported: list[PostRecord] = []

    async def report(record: PostRecord) -> None:
        reported.append(record)

    r = runner(db, out, report=report)
    first = await r.run_due(SLOT)
    assert [p.next_attempt_at for p in first.retrying] == [SLOT + dt.timedelta(minutes=1)]
    assert [p.error for p in reported] == ["HTTP 502"]
    assert (await r.run_due(SLOT + dt.timedelta(seconds=30))).sent == []  # not yet
    second = await r.run_due(SLOT + dt.timedelta(minutes=1))
    assert [(p.status, p.attempts) for p in second.sent] == [("sent", 2)] and len(out.messages) == 1


@pytest.mark.parametrize(("errors", "reason"), [
    ([RecipientUnreachable("channel deleted")], "cannot post: channel deleted"),
    ([TemporaryFailure("502")] * 3, "gave up after 3 attempts: 502"),
])
async def test_failures_that_end_the_day_are_recorded_as_failed(db: Database, errors: list[Exception],
                                                                 reason: str) -> None:
    await berlin(db, thread=False)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    r = runner(db, FakeOutbound(fail_next=list(errors)))
    for minutes in (0, 1, 3, 7):
        await r.run_due(SLOT + dt.timedelta(minutes=minutes))
    [row] = await log(db)
    assert (row.status, row.reason) == ("failed", reason)


async def test_a_retry_finishes_the_thread_without_posting_the_main_message_again(db: Database) -> None:
    await berlin(db)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound()
    r = runner(db, out)
    out.fail_next = []
    original_post = out.post
    calls = 0

    async def flaky_post(channel_id: str, reply: object, *, key: str | None = None) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:  # the first page
            raise TemporaryFailure("HTTP 503")
        return await original_post(channel_id, reply, key=key)  # type: ignore[arg-type]

    out.post = flaky_post  # type: ignore[method-assign]
    await r.run_due(SLOT)
    await r.run_due(SLOT + dt.timedelta(minutes=1))
    assert [m.reply.text for m in out.messages][1:] == ["page 1", "page 2"]
    assert len(out.messages) == 3 and len(out.threads) == 1


async def test_two_servers_at_the_same_minute_in_different_zones(db: Database) -> None:
    await berlin(db, "discord:1", at="09:00", tz="Europe/Berlin")
    await berlin(db, "discord:2", at="08:00", tz="Europe/London")
    await berlin(db, "discord:3", at="03:00", tz="America/New_York")
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound()
    report = await runner(db, out).run_due(SLOT)
    assert sorted(p.guild_id for p in report.sent) == ["discord:1", "discord:2", "discord:3"]
    assert sorted(m.channel_id for m in out.messages if not m.channel_id.startswith("t")) == [
        "discord:10", "discord:20", "discord:30"]


@pytest.mark.parametrize(("tz", "day", "jump"), [
    ("Europe/Berlin", dt.date(2025, 3, 30), utc(2025, 3, 30, 1)),  # 02:00 CET -> 03:00 CEST
    ("America/New_York", dt.date(2025, 3, 9), utc(2025, 3, 9, 7)),  # 02:00 EST -> 03:00 EDT
])
async def test_a_0230_post_on_the_spring_forward_day_goes_out_once_when_the_clock_jumps(
        db: Database, tz: str, day: dt.date, jump: dt.datetime) -> None:
    await berlin(db, at="02:30", tz=tz, created=utc(2025, 3, 1), thread=False)
    await store_digest(db, day, jump - dt.timedelta(hours=3))
    out = FakeOutbound()
    r = runner(db, out)
    assert (await r.run_due(jump - dt.timedelta(seconds=1))).sent == []
    assert len((await r.run_due(jump)).sent) == 1
    assert (await r.run_due(jump + dt.timedelta(hours=1))).sent == []
    assert len(out.messages) == 1


async def test_paused_days_are_not_made_up_after_resuming(db: Database) -> None:
    await berlin(db)
    await guild_repo.set_paused(db, "discord:1", True, now=utc(2025, 9, 9))
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    r = runner(db, FakeOutbound())
    assert (await r.run_due(SLOT)).sent == []
    await guild_repo.set_paused(db, "discord:1", False, now=SLOT + dt.timedelta(minutes=5))
    assert (await r.run_due(SLOT + dt.timedelta(minutes=6))).sent == []
    assert await log(db) == []


async def test_a_runner_for_one_platform_leaves_the_other_platforms_servers_alone(db: Database) -> None:
    await berlin(db, "discord:1")
    await berlin(db, "console:lab")
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    out = FakeOutbound()
    report = await runner(db, out, platform="console").run_due(SLOT)
    assert [p.guild_id for p in report.sent] == ["console:lab"]
    assert [p.guild_id for p in await log(db)] == ["console:lab"]  # the Discord day is not claimed either
    later = await runner(db, out, platform="discord").run_due(SLOT)
    assert [p.guild_id for p in later.sent] == ["discord:1"]


async def test_many_servers_share_one_summary_and_each_gets_its_own_role_mention(db: Database) -> None:
    for i in range(1, 31):
        await berlin(db, f"discord:{i}", thread=False, **({"role": "77"} if i == 1 else {}))
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    composed = 0

    async def counting_render(digest: DigestInfo) -> list[Reply]:
        nonlocal composed
        composed += 1
        return await render_pages(digest)

    out = FakeOutbound()
    r = PostingRunner(db, out, counting_render, clock=ManualClock(SLOT), policy=POLICY, concurrency=8)
    report = await r.run_due(SLOT)
    assert len(report.sent) == 30 and composed == 1
    roles = {m.channel_id: m.reply.mention_role_id for m in out.messages}
    assert roles["discord:10"] == 77 and {v for k, v in roles.items() if k != "discord:10"} == {None}
    assert {(p.status, p.message_id is not None) for p in await log(db)} == {("sent", True)}
    assert {(p.status, p.attempts) for p in report.sent} == {("sent", 1)}


class DyingOutbound(FakeOutbound):
    """The process dies as it makes the `dies_at`-th message: that one exists, nothing after it is sent."""

    def __init__(self, dies_at: int) -> None:
        super().__init__()
        self.dies_at = dies_at
        self.dead = False

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        if self.dead:
            raise Crash()
        sent = await super().post(channel_id, reply, key=key)
        if len(self.messages) == self.dies_at:
            self.dead = True
            raise Crash()
        return sent


async def test_a_crash_in_the_middle_of_a_fan_out_neither_repeats_nor_loses_a_post(db: Database) -> None:
    for i in range(1, 21):
        await berlin(db, f"discord:{i}", thread=False)
    await store_digest(db, DAY, utc(2025, 9, 10, 5))
    dying = DyingOutbound(dies_at=7)
    with pytest.raises(Crash):
        await runner(db, dying, concurrency=5).run_due(SLOT)
    await asyncio.sleep(0.2)  # let the dead run's other tasks run into the crash too
    assert len(dying.messages) == 7
    statuses = [p.status for p in await log(db)]
    assert "sending" in statuses and set(statuses) <= {"pending", "sending", "sent"}
    # Restarted a minute later on the same channels: Discord hands back a keyed message it already made.
    out = FakeOutbound(messages=dying.messages)
    restarted = runner(db, out, start=SLOT + dt.timedelta(minutes=1))
    assert await restarted.recover() == []
    await restarted.run_due()
    assert sorted(m.channel_id for m in out.messages) == sorted(f"discord:{i}0" for i in range(1, 21))
    assert {p.status for p in await log(db)} == {"sent"}
