"""The scheduling rules as pure functions: time zones, DST, late digests, cut-off, grace, recovery."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.chat.outbound import RecipientUnreachable, TemporaryFailure
from bot.schedule.decide import (
    Policy,
    after_failure,
    backoff,
    deadline,
    decide,
    decide_day,
    digest_keys,
    post_key,
    recover,
    wall_time,
)
from storage.guilds import GuildSchedule
from storage.posts import PostRecord
from storage.records import DigestInfo
from tests.bot.schedule.fakes import utc

POLICY = Policy(late_cutoff=dt.timedelta(hours=6), grace=dt.timedelta(hours=3))
DAY = dt.date(2025, 9, 10)
LONG_AGO = utc(2025, 1, 1)


def schedule(guild: str = "discord:1", at: str = "09:00", tz: str = "Europe/Berlin", **kw: object) -> GuildSchedule:
    kw.setdefault("active_since", LONG_AGO)
    return GuildSchedule(guild, f"discord:{guild[-1]}0", dt.time.fromisoformat(at), tz, **kw)  # type: ignore[arg-type]


def digest(day: dt.date = DAY, arrived: dt.datetime = utc(2025, 9, 10, 5), digest_id: int = 7) -> DigestInfo:
    return DigestInfo(digest_id, "hf-daily", day, "hf-page", 40, arrived, arrived)


def record(status: str = "sending", updated: dt.datetime = utc(2025, 9, 10, 7), message_id: str | None = None,
           attempts: int = 1) -> PostRecord:
    return PostRecord(1, "discord:1", "discord:10", DAY, 7, "digest", status, None, "k", attempts, None,
                      message_id, None, 0, None, updated, updated)


@pytest.mark.parametrize(("zone", "day", "at", "expected"), [
    ("Europe/Berlin", dt.date(2025, 9, 10), "09:00", utc(2025, 9, 10, 7)),  # CEST, +2
    ("Europe/Berlin", dt.date(2025, 12, 10), "09:00", utc(2025, 12, 10, 8)),  # CET, +1
    # Spring forward: 02:00 -> 03:00. 02:30 does not exist; due when the clock jumps (03:00 CEST).
    ("Europe/Berlin", dt.date(2025, 3, 30), "02:30", utc(2025, 3, 30, 1)),
    ("Europe/Berlin", dt.date(2025, 3, 30), "03:00", utc(2025, 3, 30, 1)),
    ("Europe/Berlin", dt.date(2025, 3, 30), "01:59", utc(2025, 3, 30, 0, 59)),
    # Fall back: 03:00 -> 02:00. 02:30 happens twice; due the first time (still CEST).
    ("Europe/Berlin", dt.date(2025, 10, 26), "02:30", utc(2025, 10, 26, 0, 30)),
    ("America/New_York", dt.date(2025, 3, 9), "02:30", utc(2025, 3, 9, 7)),  # jump at 02:00 EST = 07:00Z
    ("America/New_York", dt.date(2025, 3, 9), "09:00", utc(2025, 3, 9, 13)),  # EDT, -4
    ("America/New_York", dt.date(2025, 11, 2), "01:30", utc(2025, 11, 2, 5, 30)),  # first, EDT
    ("America/New_York", dt.date(2025, 11, 2), "09:00", utc(2025, 11, 2, 14)),  # EST, -5
    ("Asia/Kolkata", dt.date(2025, 9, 10), "08:15", utc(2025, 9, 10, 2, 45)),
])
def test_wall_time_follows_the_zone_and_its_dst_changes(zone: str, day: dt.date, at: str,
                                                         expected: dt.datetime) -> None:
    assert wall_time(day, dt.time.fromisoformat(at), ZoneInfo(zone)) == expected


@pytest.mark.parametrize(("zone", "before", "change", "hours"), [
    ("Europe/Berlin", dt.date(2025, 3, 29), dt.date(2025, 3, 30), 23),
    ("Europe/Berlin", dt.date(2025, 10, 25), dt.date(2025, 10, 26), 25),
    ("America/New_York", dt.date(2025, 3, 8), dt.date(2025, 3, 9), 23),
    ("America/New_York", dt.date(2025, 11, 1), dt.date(2025, 11, 2), 25),
])
def test_a_daily_post_keeps_its_local_time_across_a_dst_change(zone: str, before: dt.date, change: dt.date,
                                                                hours: int) -> None:
    s = schedule(tz=zone)
    first = wall_time(before, s.post_time, ZoneInfo(zone))
    second = wall_time(change, s.post_time, ZoneInfo(zone))
    assert second - first == dt.timedelta(hours=hours)
    assert second.astimezone(ZoneInfo(zone)).hour == 9


def test_nothing_before_the_post_time_then_the_post() -> None:
    s = schedule()
    assert decide_day(s, DAY, utc(2025, 9, 10, 6, 59), digest(), POLICY) is None
    d = decide_day(s, DAY, utc(2025, 9, 10, 7), digest(), POLICY)
    assert d is not None and (d.action, d.kind, d.made_up) == ("post", "digest", False)
    assert d.due_at == utc(2025, 9, 10, 7)


def test_a_late_digest_is_posted_when_it_arrives() -> None:
    s = schedule()
    assert decide_day(s, DAY, utc(2025, 9, 10, 8), None, POLICY) is None  # waiting
    late = digest(arrived=utc(2025, 9, 10, 11, 30))
    d = decide_day(s, DAY, utc(2025, 9, 10, 11, 31), late, POLICY)
    assert d is not None and d.action == "post" and d.due_at == late.fetched_at and not d.made_up


def test_a_digest_after_the_cut_off_is_skipped_with_the_reason() -> None:
    s = schedule()
    assert deadline(s, DAY, POLICY) == utc(2025, 9, 10, 13)
    d = decide_day(s, DAY, utc(2025, 9, 10, 13, 5), digest(arrived=utc(2025, 9, 10, 13, 1)), POLICY)
    assert d is not None and d.action == "skip" and "after the cut-off" in (d.reason or "")


def test_the_cut_off_never_passes_the_end_of_the_local_day() -> None:
    s = schedule(at="21:00")
    assert deadline(s, DAY, POLICY) == utc(2025, 9, 10, 22)  # local midnight, not 03:00 next day


@pytest.mark.parametrize(("on_empty", "action", "kind"), [("note", "post", "note"), ("nothing", "skip", "none")])
def test_no_digest_by_the_cut_off(on_empty: str, action: str, kind: str) -> None:
    s = schedule(on_empty=on_empty)
    assert decide_day(s, DAY, utc(2025, 9, 10, 12, 59), None, POLICY) is None
    d = decide_day(s, DAY, utc(2025, 9, 10, 13), None, POLICY)
    assert d is not None and (d.action, d.kind) == (action, kind)


@pytest.mark.parametrize(("back_at", "action", "made_up"), [
    (utc(2025, 9, 10, 7, 1), "post", False),  # a slow tick, not downtime
    (utc(2025, 9, 10, 9, 30), "post", True),  # down 2.5 h, grace 3 h: made up
    (utc(2025, 9, 10, 10), "post", True),  # exactly at the end of the grace window
    (utc(2025, 9, 10, 10, 1), "skip", False),  # too late: skipped, recorded
])
def test_downtime_inside_and_outside_the_grace_window(back_at: dt.datetime, action: str, made_up: bool) -> None:
    d = decide_day(schedule(), DAY, back_at, digest(), POLICY)
    assert d is not None and (d.action, d.made_up) == (action, made_up)
    if action == "skip":
        assert d.reason is not None and d.reason.startswith("missed")


def test_days_before_the_schedule_existed_are_not_owed() -> None:
    s = schedule(active_since=utc(2025, 9, 10, 8))  # created after today's 09:00 Berlin
    assert decide_day(s, DAY, utc(2025, 9, 10, 8, 30), digest(), POLICY) is None
    tomorrow = decide_day(s, DAY + dt.timedelta(days=1), utc(2025, 9, 11, 7), digest(DAY + dt.timedelta(days=1)),
                          POLICY)
    assert tomorrow is not None and tomorrow.action == "post"


def test_paused_servers_get_nothing() -> None:
    assert decide_day(schedule(paused=True), DAY, utc(2025, 9, 10, 7), digest(), POLICY) is None


def test_yesterday_setting_carries_the_previous_days_digest() -> None:
    s = schedule(digest_day="yesterday")
    keys = digest_keys([s], utc(2025, 9, 10, 7), Policy(lookback=dt.timedelta(hours=1)))
    assert keys == {(dt.date(2025, 9, 9), None)}


def test_two_servers_at_the_same_minute_both_post_and_logged_days_are_not_decided_again() -> None:
    berlin, london = schedule("discord:1"), schedule("discord:2", at="08:00", tz="Europe/London")
    now = utc(2025, 9, 10, 7)  # 09:00 Berlin = 08:00 London
    found = {(DAY, None): digest()}
    decisions = decide([berlin, london], now, found, [], Policy(lookback=dt.timedelta(hours=1)))
    assert sorted(d.schedule.guild_id for d in decisions if d.action == "post") == ["discord:1", "discord:2"]
    again = decide([berlin, london], now, found, [("discord:1", DAY), ("discord:2", DAY)], POLICY)
    assert [d for d in again if d.day == DAY] == []


def test_keys_are_nonce_sized_and_differ_by_server_channel_and_digest() -> None:
    keys = {post_key(g, c, digest(digest_id=i), DAY, "digest") for g in ("discord:1", "discord:2")
            for c in ("discord:10", "discord:20") for i in (1, 2)}
    assert len(keys) == 8 and all(len(k) <= 25 for k in keys)


def test_stuck_sends_are_resumed_only_when_safe() -> None:
    now = utc(2025, 9, 10, 7, 1)
    assert recover(record(updated=utc(2025, 9, 10, 7)), now, POLICY) == "resume"  # within the nonce window
    assert recover(record(updated=utc(2025, 9, 10, 6)), now, POLICY) == "unknown"
    assert recover(record(updated=utc(2025, 9, 10, 6), message_id="m1"), now, POLICY) == "resume"


def test_temporary_failures_back_off_then_give_up_and_permanent_ones_do_not_retry() -> None:
    policy = Policy(retry_attempts=3, retry_base=dt.timedelta(minutes=1), retry_max=dt.timedelta(minutes=3))
    assert [backoff(n, policy) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 2, 3, 3)]
    now = utc(2025, 9, 10, 7)
    first = after_failure(record(attempts=1), TemporaryFailure("502"), now, policy)
    assert first.retry_at == now + dt.timedelta(minutes=1)
    assert after_failure(record(attempts=3), TemporaryFailure("502"), now, policy).retry_at is None
    gone = after_failure(record(attempts=1), RecipientUnreachable("channel deleted"), now, policy)
    assert gone.retry_at is None and "channel deleted" in gone.reason
