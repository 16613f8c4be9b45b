"""The thin APScheduler layer: one cron job per server in its zone, and a loaded digest wakes the runner."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.schedule.clock import ManualClock
from bot.schedule.runner import PostingRunner
from bot.schedule.settings import set_schedule
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from tests.bot.schedule.fakes import FakeOutbound, render_pages, utc


async def test_cron_jobs_follow_each_servers_zone_and_a_late_digest_is_posted_on_load(db: Database) -> None:
    for guild, zone in (("discord:1", "Europe/Berlin"), ("discord:2", "America/New_York")):
        await set_schedule(db, guild, channel=f"{guild}0", time="09:00", timezone=zone, thread=False,
                           now=utc(2025, 9, 9))
    out = FakeOutbound()
    # 15:00 UTC: past 09:00 in Berlin (07:00Z) and New York (13:00Z); the day's digest is not in yet.
    runner = PostingRunner(db, out, render_pages, clock=ManualClock(utc(2025, 9, 10, 15)), sweep_seconds=3600)
    await runner.start()
    try:
        scheduler = runner._scheduler
        assert scheduler is not None and out.messages == []
        after = utc(2025, 3, 29, 12)
        fires = {job_id: scheduler.get_job(job_id).trigger.get_next_fire_time(None, after).astimezone(dt.UTC)
                 for job_id in ("post:discord:1", "post:discord:2")}
        assert fires == {"post:discord:1": utc(2025, 3, 30, 7),  # 09:00 CEST, the day clocks change
                         "post:discord:2": utc(2025, 3, 29, 13)}  # 09:00 EDT
        loader = Loader(db, after_commit=[runner.on_digest_loaded])
        await loader.load(ParsedDigest("hf-daily", dt.date(2025, 9, 10), "hf-page", [PaperRecord("Paper", "A.")]),
                          now=utc(2025, 9, 10, 14, 59))
        for _ in range(100):
            if len(out.messages) == 2:
                break
            await asyncio.sleep(0.01)
        assert sorted(m.channel_id for m in out.messages) == ["discord:10", "discord:20"]
    finally:
        runner.stop()
