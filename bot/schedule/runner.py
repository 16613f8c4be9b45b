"""The daily-post runner: gathers what `decide` needs, records decisions, sends due posts, and
(when started) lets APScheduler wake it.

`run_due(now)` is the whole job and is safe to call any time, any number of times: every decision
is re-derived from the database and the post log's UNIQUE key stops a day being claimed twice.
The console drives it with simulated time (`await runner.run_due(clock.advance(...))`); the bot
calls `start()`, which adds thin APScheduler 3.x triggers that only call `kick()`:

* one CronTrigger per server at its local HH:MM in its IANA zone (APScheduler follows DST);
* a sweep every `sweep_seconds`, which catches late digests, cut-offs and schedule changes made
  by another process (the CLI);
* a one-off job at the next retry time;
* a job right after a digest is loaded (`on_digest_loaded`, a Loader `after_commit` listener).

Several processes may share the database, each running some of the Discord shards
(bot.chat.shards): a runner built with `shards` decides, sends, recovers and wakes only for the
servers on them, and leaves every other server's rows alone (not "skipped", not "missed").
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.chat.outbound import Outbound
from bot.chat.ratelimit import TokenBucket, share_of
from bot.chat.shards import EVERY_SHARD, ShardSet
from bot.config import ScheduleSettings
from bot.schedule import decide as rules
from bot.schedule.clock import Clock, system_clock
from bot.schedule.poster import Poster, Render, Report
from storage import digests as digest_repo
from storage import guilds as guild_repo
from storage import posts as post_repo
from storage.db import Database
from storage.errors import ConnectionLost
from storage.guilds import GuildSchedule
from storage.posts import PostRecord
from storage.records import DigestInfo, LoadResult
from storage.sendlog import RowUpdate

log = logging.getLogger(__name__)

_Row = TypeVar("_Row", GuildSchedule, PostRecord)


@dataclass(slots=True)
class RunReport:
    """What one `run_due` did."""

    now: dt.datetime
    sent: list[PostRecord] = field(default_factory=list)
    made_up: list[PostRecord] = field(default_factory=list)  # also in `sent`: posted late after downtime
    skipped: list[PostRecord] = field(default_factory=list)
    retrying: list[PostRecord] = field(default_factory=list)
    failed: list[PostRecord] = field(default_factory=list)


class PostingRunner:
    def __init__(self, db: Database, outbound: Outbound, render: Render, *, clock: Clock = system_clock,
                 policy: rules.Policy = rules.Policy(), limiter: AbstractAsyncContextManager[Any] | None = None,
                 concurrency: int = 25, sweep_seconds: float = 60.0, report: Report | None = None,
                 platform: str | None = None, shards: ShardSet = EVERY_SHARD) -> None:
        self.db = db
        # Only this platform's servers ("console", "discord"): a console opened on the bot's
        # database must not post (or mark as posted) a Discord server's day.
        self.platform = platform
        # Only the servers on this process's shards: the other processes sharing the database post
        # (and record as skipped or missed) the others'. Every read of schedules and posts below
        # goes through `_ours`, so this process neither sends nor judges another one's rows.
        self.shards = shards
        self.clock = clock
        self.policy = policy
        self.poster = Poster(db, outbound, render, policy=policy, limiter=limiter, report=report)
        self.concurrency = concurrency
        self.sweep_seconds = sweep_seconds
        self._lock = asyncio.Lock()
        self._running = False
        self._again = False
        self._scheduler: AsyncIOScheduler | None = None
        self._jobs: dict[str, tuple[dt.time, str]] = {}

    # -- the job ------------------------------------------------------------------------------

    async def run_due(self, now: dt.datetime | None = None) -> RunReport:
        """Record what is due at `now` (default: the clock) and send it; returns what happened."""
        async with self._lock:
            now = now or self.clock()
            report = RunReport(now)
            # What a process that died mid-send left behind: another one's, since the last run
            # (several processes may share the database), or this one's before a restart.
            await self.recover(now)
            schedules, digests, logged = await self._snapshot(now)
            by_guild = {s.guild_id: s for s in schedules}
            made_up: set[int] = set()
            decisions = rules.decide(schedules, now, digests, logged, self.policy)
            for decision, record in zip(decisions, await self.poster.record(decisions, now), strict=True):
                if record is None:
                    continue
                if record.status == "skipped":
                    log.info("daily post for %s on %s skipped: %s", record.guild_id, record.post_date, record.reason)
                    report.skipped.append(record)
                elif decision.made_up:
                    made_up.add(record.id)
            due = []
            not_sendable = []
            for record in self._ours(await post_repo.posts_in_status(self.db, ["pending"], platform=self.platform)):
                schedule = by_guild.get(record.guild_id)
                reason = self._not_sendable(record, schedule, now)
                if reason is not None:
                    not_sendable.append((record, reason))
                elif rules.retry_due(record, now) and schedule is not None:
                    due.append((record, schedule))
            if not_sendable:
                skipped = await post_repo.update_posts(
                    self.db, [RowUpdate(r.id, {"status": "skipped", "reason": why}, ("pending",))
                              for r, why in not_sendable], now=now)
                report.skipped += [r for r, _ in not_sendable if r.id in skipped]
            for result in await self._send_posts(due, now):
                if result is None:
                    continue
                if result.status == "sent":
                    report.sent.append(result)
                    if result.id in made_up:
                        report.made_up.append(result)
                elif result.status == "pending":
                    report.retrying.append(result)
                else:
                    report.failed.append(result)
            await self._wake_for_retries()
            return report

    def _ours(self, rows: list[_Row]) -> list[_Row]:
        """The schedules or posts of servers on this process's shards."""
        if self.shards.every:
            return rows
        return [r for r in rows if self.shards.owns(r.guild_id)]

    def _not_sendable(self, record: PostRecord, schedule: GuildSchedule | None, now: dt.datetime) -> str | None:
        if schedule is None:
            return "the server's schedule was paused or removed before the post went out"
        if rules.stale(record, now, self.policy):
            return f"missed: queued at {record.created_at.isoformat()} and not sent within the grace window"
        return None

    async def _snapshot(self, now: dt.datetime) -> tuple[
            list[GuildSchedule], dict[rules.DigestKey, DigestInfo | None], set[tuple[str, dt.date]]]:
        # One transaction so the reads agree with each other, and so a digest load in progress
        # (its after_load hook wakes us) has committed before we look.
        async with self.db.atomic() as db:
            schedules = self._ours(await guild_repo.list_schedules(db, active_only=True, platform=self.platform))
            digests = {key: await digest_repo.find_digest(db, date=key[0], source=key[1])
                       for key in rules.digest_keys(schedules, now, self.policy)}
            # A day earlier than any zone's local day of `now - lookback` (zones span UTC-12..+14).
            earliest = (now - self.policy.lookback - dt.timedelta(days=1)).date()
            logged = {(r.guild_id, r.post_date) for r in await post_repo.posts_since(db, earliest)}
        return schedules, digests, logged

    async def _send_posts(self, due: Sequence[tuple[PostRecord, GuildSchedule]],
                           now: dt.datetime) -> list[PostRecord | None]:
        # Only the posts this process takes in hand: another process sending the same days holds
        # its own (and the one that goes on to send a post is the one whose 'sending' is written).
        held = await post_repo.hold_posts(self.db, [r.id for r, _ in due])
        due = [(r, s) for r, s in due if r.id in held]
        gate = asyncio.Semaphore(self.concurrency)
        run = self.poster.new_run()
        run.plan([r for r, _ in due])

        async def one(record: PostRecord, schedule: GuildSchedule) -> PostRecord | None:
            async with gate:
                return await self.poster.send_post(record, schedule, now, run)

        try:
            return list(await asyncio.gather(*(one(r, s) for r, s in due)))
        finally:
            try:
                await run.close()  # the results written before the run reports them
            finally:
                # Also when cancelled: a hold kept by a live process hides its rows from recovery.
                await asyncio.shield(post_repo.release_posts(self.db, list(held)))

    # -- start-up ------------------------------------------------------------------------------

    async def recover(self, now: dt.datetime | None = None) -> list[PostRecord]:
        """Rows a crash left in 'sending' go back to 'pending' (safe to re-send with their key) or to
        'unknown' (an operator checks the channel). Returns the unknown ones. Rows a live task or
        process holds (storage.posts.hold_posts) are being sent, and are left to it."""
        now = now or self.clock()
        stuck = self._ours(await post_repo.posts_in_status(self.db, ["sending"], platform=self.platform))
        held = await post_repo.hold_posts(self.db, [r.id for r in stuck])
        try:
            return await self._recover(now, [r for r in stuck if r.id in held])
        finally:
            await asyncio.shield(post_repo.release_posts(self.db, list(held)))

    async def _recover(self, now: dt.datetime, stuck: Sequence[PostRecord]) -> list[PostRecord]:
        unknown = []
        for record in stuck:
            if rules.recover(record, now, self.policy) == "resume":
                await post_repo.update_post(self.db, record.id, expect="sending", status="pending",
                                            next_attempt_at=None, now=now)
            else:
                reason = ("interrupted while sending: the post may or may not have gone out; check the channel "
                          "and mark it with `paperboy posts`")
                await post_repo.update_post(self.db, record.id, expect="sending", status="unknown",
                                            reason=reason, now=now)
                log.warning("daily post for %s on %s: %s", record.guild_id, record.post_date, reason)
                unknown.append(record)
        return unknown

    # -- APScheduler wiring (thin: every trigger only calls kick) --------------------------------

    async def start(self) -> None:
        """Recover, make up what was missed while down, and keep running on the event loop."""
        await self.recover()
        scheduler = AsyncIOScheduler(timezone=dt.UTC)
        scheduler.add_job(self.kick, IntervalTrigger(seconds=self.sweep_seconds), id="sweep",
                          coalesce=True, max_instances=1)
        self._scheduler = scheduler
        await self.sync_jobs()
        scheduler.start()
        await self.kick()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def kick(self) -> None:
        """Run now; if a run is already going, run once more after it (triggers coalesce)."""
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            while True:
                self._again = False
                try:
                    await self.run_due()
                    await self.sync_jobs()
                except ConnectionLost as exc:  # the server restarting: nothing to debug
                    log.warning("the daily-post run paused: %s", exc)
                except Exception:  # noqa: BLE001 - a failed run must not kill the scheduler
                    log.exception("the daily-post run failed; the next trigger tries again")
                if not self._again:
                    break
        finally:
            self._running = False

    async def on_digest_loaded(self, results: Sequence[LoadResult]) -> None:
        """A Loader `after_commit` listener: a digest that arrives late is posted right away."""
        if self._scheduler is not None and any(not r.unchanged and r.papers for r in results):
            self._scheduler.add_job(self.kick, id="digest-loaded", replace_existing=True)

    async def sync_jobs(self) -> None:
        """One CronTrigger per active server at its local post time; drop jobs of servers gone."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        wanted = {s.guild_id: (s.post_time, s.timezone)
                  for s in self._ours(await guild_repo.list_schedules(self.db, active_only=True,
                                                                      platform=self.platform))}
        for guild_id in set(self._jobs) - set(wanted):
            scheduler.remove_job(f"post:{guild_id}")
            del self._jobs[guild_id]
        for guild_id, (at, zone) in wanted.items():
            if self._jobs.get(guild_id) == (at, zone):
                continue
            trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=ZoneInfo(zone))
            scheduler.add_job(self.kick, trigger, id=f"post:{guild_id}", replace_existing=True, coalesce=True,
                              max_instances=1, misfire_grace_time=None)
            self._jobs[guild_id] = (at, zone)

    async def _wake_for_retries(self) -> None:
        if self._scheduler is None:
            return
        pending = self._ours(await post_repo.posts_in_status(self.db, ["pending"], platform=self.platform))
        waiting = [r.next_attempt_at for r in pending if r.next_attempt_at is not None]
        if waiting:
            self._scheduler.add_job(self.kick, DateTrigger(run_date=min(waiting)), id="retry",
                                    replace_existing=True)


def policy_from(settings: ScheduleSettings) -> rules.Policy:
    """The scheduling policy from the `[schedule]` settings."""
    return rules.Policy(
        late_cutoff=dt.timedelta(hours=settings.late_cutoff_hours), grace=dt.timedelta(hours=settings.grace_hours),
        resend_window=dt.timedelta(seconds=settings.resend_window_seconds), retry_attempts=settings.retry_attempts,
        retry_base=dt.timedelta(seconds=settings.retry_base_seconds),
        retry_max=dt.timedelta(seconds=settings.retry_max_seconds))


def runner_from(settings: ScheduleSettings, db: Database, outbound: Outbound, render: Render, *,
                limiter: TokenBucket | None = None, clock: Clock = system_clock,
                report: Report | None = None, platform: str | None = None,
                shards: ShardSet = EVERY_SHARD) -> PostingRunner:
    """A runner configured from `[schedule]`, for the servers on `shards`. Pass the process's
    shared `limiter` when the transport has one; otherwise one is made at this process's share of
    the configured rate (bot.chat.ratelimit.share_of: the processes' shares add up to the global limit)."""
    return PostingRunner(db, outbound, render, clock=clock, policy=policy_from(settings),
                         limiter=limiter or TokenBucket(*share_of(settings.rate_per_second, settings.burst,
                                                                  shards.share)),
                         concurrency=settings.concurrency, sweep_seconds=settings.sweep_seconds, report=report,
                         platform=platform, shards=shards)
