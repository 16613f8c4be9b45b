"""The composition root: one place that opens the database and wires the services together.

Shared by the console, the Discord transport and `paperboy run`:

    app = await App.open(settings, outbound, clock=clock)   # outbound: the transport's sender
    reply = await dispatch("search", {"query": "diffusion"}, app.context("console:alice", ...))
    await app.settle()        # console: do now what the background jobs would (posts, deliveries)
    await app.start()         # bot: start the background jobs instead
    await app.close()

Loading a digest (any path: /ingest, `paperboy ingest`, fetching) goes through `app.loader`,
whose after_load hooks keep the title index in step and wake the daily-post runner. The
loader stamps loads with the app's clock, so simulated time in the console stays consistent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.commands.context import Context, Services
from bot.config import Settings
from bot.delivery import Outbound
from bot.lookup.service import LookupService
from bot.replies import Reply
from bot.schedule.clock import Clock, system_clock
from bot.schedule.runner import PostingRunner, RunReport, runner_from
from bot.subscriptions.deliver import Deliverer
from bot.subscriptions.notify import notification_hook, warm_up
from bot.summary import compose, render_pages
from storage.db import Database
from storage.deliveries import Delivery
from storage.instance_lock import UseLock, hold_shared
from storage.loader import AfterLoad, Loader, PreparedRun
from storage.records import DigestInfo, LoadResult, ParsedDigest

log = logging.getLogger(__name__)


class ClockedLoader(Loader):
    """A Loader whose loads are stamped with the app's clock (fetched_at drives the daily post)."""

    def __init__(self, db: Database, clock: Clock, *, after_load: Sequence[AfterLoad] = ()) -> None:
        super().__init__(db, after_load=after_load)
        self.clock = clock

    async def load_many(self, digests: Iterable[ParsedDigest | PreparedRun], *,
                        now: dt.datetime | None = None, prune: bool = False) -> list[LoadResult]:
        return await super().load_many(digests, now=now or self.clock(), prune=prune)


@dataclass(slots=True)
class App:
    settings: Settings
    db: Database
    services: Services
    runner: PostingRunner
    deliverer: Deliverer
    outbound: Outbound
    clock: Clock
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _in_use: UseLock | None = None

    @classmethod
    async def open(cls, settings: Settings, outbound: Outbound, *, clock: Clock = system_clock,
                   platform: str | None = None) -> App:
        """`platform` ("console", "discord") limits the daily posts and notifications this process
        sends to that transport's servers and users, so a console on the bot's database sends
        nothing on Discord's behalf."""
        in_use = hold_shared(settings.db_path)  # `paperboy restore` refuses while this is held
        try:
            db = await Database.open(settings.db_path, busy_timeout_ms=settings.database.busy_timeout_ms)
        except BaseException:
            in_use.release()
            raise
        try:
            lookup = LookupService(db)

            async def render(digest: DigestInfo) -> list[Reply]:
                return render_pages(await compose(db, digest))

            runner = runner_from(settings.schedule, db, outbound, render, clock=clock, platform=platform)
            deliverer = Deliverer(db, outbound, settings.subscriptions, limiter=runner.poster.limiter, clock=clock)
            wake = asyncio.Event()

            async def wake_deliverer(conn: object, result: LoadResult) -> None:
                if not result.unchanged:
                    wake.set()  # the deliverer waits for the load to commit (see _deliver_forever)

            loader = ClockedLoader(db, clock, after_load=[
                lookup.after_load, notification_hook(settings.subscriptions, clock=clock), runner.on_digest_loaded,
                wake_deliverer])
            await lookup.start()
        except BaseException:
            await db.close()
            in_use.release()
            raise
        app = cls(settings, db, Services(db, settings, lookup, loader, clock), runner, deliverer, outbound, clock,
                  wake)
        app._in_use = in_use
        return app

    @property
    def loader(self) -> Loader:
        return self.services.loader

    def context(self, user_id: str, *, guild_id: str | None = None, channel_id: str | None = None,
                is_admin: bool = False, transport: str = "console", user_name: str = "") -> Context:
        return Context(self.services, user_id, guild_id, channel_id, is_admin, transport, user_name)

    async def settle(self) -> tuple[RunReport, list[Delivery]]:
        """Do what the background jobs would have done by the clock's time: send the due daily
        posts, then the pending notifications (which may mention users in a post's thread)."""
        report = await self.runner.run_due(self.clock())
        return report, await self.deliverer.deliver_pending()

    async def start(self, *, delivery_interval: float = 30.0) -> None:
        """Start the background jobs on the running event loop: the daily-post scheduler, and
        notifications sent after each load and every `delivery_interval` seconds (retries)."""
        topics = await warm_up(self.db)  # the first digest's matching then finds every topic parsed
        log.info("%d subscribed topics ready for matching", topics)
        await self.deliverer.recover()
        await self.runner.start()
        self._tasks.append(asyncio.create_task(self._deliver_forever(delivery_interval)))

    async def _deliver_forever(self, interval: float) -> None:
        while True:
            # The first round runs at once: notifications queued while the bot was down (or by a
            # CLI load) must not wait for the first interval.
            try:
                await self.deliverer.deliver_pending()
            except Exception:  # noqa: BLE001 - one failed round must not stop deliveries
                log.exception("delivering notifications failed; trying again later")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
                await asyncio.sleep(0.5)  # woken from inside a load: let its transaction commit
            except TimeoutError:
                pass
            self._wake.clear()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.runner.stop()
        await self.services.lookup.close()  # a title-index snapshot being written finishes first
        await self.db.close()
        if self._in_use is not None:
            self._in_use.release()
