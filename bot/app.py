"""The composition root: one place that opens the database and wires the services together.

Shared by the console, the Discord transport and `paperboy run`:

    app = await App.open(settings, outbound, clock=clock)   # outbound: the transport's sender
    reply = await dispatch("search", {"query": "diffusion"}, app.context("console:alice", ...))
    await app.settle()        # console: do now what the background jobs would (posts, notifications)
    await app.start()         # bot: start the background jobs instead (posts, notifications, fetching)
    await app.close()

A started app registers in the process table and runs fetching and the upkeep (title-index
snapshots, the title log's and the process table's pruning, the similarity index's catch-up:
bot.similar.backfill) only while it holds their leases, so
that of several processes sharing a database exactly one does each (bot.processes).

Loading a digest (any path: /ingest, `paperboy ingest`, fetching) goes through a loader made by
`build_loader`: its after_load hook marks a digest that is news for subscription matching in the
load's transaction; once the load committed, its listeners queue the subscribers' notifications,
keep the title index in step, wake the daily-post runner and the notification sender, compose the
new daily digest's summary ahead of its readers (bot.summary.warm), weigh the new papers for
/similar and /recommend and, with `[llm]` on,
start writing the model's summaries in the background (bot.llm: the post only reads what is
cached, so it never waits for the model). The loader stamps loads with the app's clock, so
simulated time in the console stays consistent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.chat.outbound import Outbound
from bot.chat.ratelimit import TokenBucket
from bot.chat.replies import Reply
from bot.chat.shards import EVERY_SHARD, ShardSet
from bot.commands.context import Context, Services
from bot.config import Settings, llm_api_key
from bot.llm.service import LlmService
from bot.lookup.service import LookupService
from bot.processes.coordinator import Coordinator, Leased
from bot.schedule.clock import Clock, system_clock
from bot.schedule.runner import PostingRunner, RunReport, runner_from
from bot.similar.backfill import Backfill
from bot.similar.index import SimilarIndex
from bot.similar.weekly import WeeklyRecommendations
from bot.subscriptions.notify import NotificationQueue, notification_hook, warm_up
from bot.subscriptions.send import NotificationSender
from bot.summary import render_pages
from bot.summary.cache import SummaryCache
from bot.summary.warm import SummaryWarmer

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.sources.poller import Poller
    from bot.web.server import WebServer
from storage.db import Database
from storage.errors import ConnectionLost
from storage.instance_lock import UseLock, open_held
from storage.loader import AfterCommit, AfterLoad, Loader
from storage.notifications import NotificationRecord
from storage.processes import FETCH, UPKEEP
from storage.records import DigestInfo, LoadResult

log = logging.getLogger(__name__)


class ClockedLoader(Loader):
    """A Loader whose loads are stamped with the app's clock (fetched_at drives the daily post)."""

    def __init__(self, db: Database, clock: Clock, *, after_load: Sequence[AfterLoad] = (),
                 after_commit: Sequence[AfterCommit] = ()) -> None:
        super().__init__(db, after_load=after_load, after_commit=after_commit)
        self.clock = clock

    def moment(self) -> dt.datetime:
        return self.clock()


def build_loader(db: Database, settings: Settings, *, clock: Clock = system_clock,
                 lookup: LookupService | None = None, runner: PostingRunner | None = None,
                 wake: asyncio.Event | None = None,
                 notifications: NotificationQueue | None = None, llm: LlmService | None = None,
                 warmer: SummaryWarmer | None = None) -> ClockedLoader:
    """The loader every load goes through, with what every feature does on a load: a digest that
    is news is marked for subscription matching in the load's transaction. Once it committed, a
    process that keeps a title index (`lookup`) or runs the daily post (`runner`) is told, the
    subscribers' notifications are queued (by `notifications`, else a queue of its own: a batch of
    users per transaction), and a process that sends them (`wake`) is woken; `warmer` composes a
    recent daily digest's summary in the background (the bot; a one-shot command leaves it to the
    running bot's upkeep rather than wait half a minute before exiting); `llm` writes the
    model's summaries of a recent daily digest (in the background in the bot, before a one-shot
    command ends). A one-shot command (`paperboy ingest`, `paperboy fetch`) has no index, post or
    sender: a running bot finds its loads by polling the archive."""
    listeners: list[AfterCommit] = []
    if lookup is not None:
        listeners.append(lookup.after_commit)
    if runner is not None:
        listeners.append(runner.on_digest_loaded)
    if warmer is not None:
        listeners.append(warmer.after_commit)
    # After the title index and the daily post (quick), before waking the sender (what it sends).
    listeners.append((notifications or NotificationQueue(db, clock=clock)).after_commit)
    if wake is not None:
        event = wake

        async def wake_sender(results: Sequence[LoadResult]) -> None:
            if any(not r.unchanged for r in results):
                event.set()

        listeners.append(wake_sender)
    # The similarity index weighs the load's new papers (bot.similar.index), also in a one-shot command.
    listeners.append(SimilarIndex(db).after_commit)
    if llm is not None:  # last: in a one-shot command it writes before returning, after everything else
        listeners.append(llm.after_commit)
    return ClockedLoader(db, clock, after_load=[notification_hook(settings.subscriptions, clock=clock)],
                         after_commit=listeners)


def llm_from(db: Database, settings: Settings, *, clock: Clock = system_clock, summaries: SummaryCache | None = None,
             background: bool = True) -> LlmService | None:
    """The model's summaries service when `[llm] enabled`, else None (the key: PAPERBOY_LLM_API_KEY)."""
    if not settings.llm.enabled:
        return None
    key = llm_api_key()
    return LlmService.from_settings(db, settings, api_key=key.value if key else None, clock=clock,
                                    summaries=summaries, background=background)


@dataclass(slots=True)
class App:
    settings: Settings
    db: Database
    services: Services
    runner: PostingRunner
    notification_sender: NotificationSender
    notifications: NotificationQueue
    outbound: Outbound
    clock: Clock
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    # The Discord shards this process runs (every shard in the console and a one-process bot).
    shards: ShardSet = EVERY_SHARD
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _in_use: UseLock | None = None
    _poller: Poller | None = None
    _polling: AsyncIOScheduler | None = None
    _web: WebServer | None = None
    _coordinator: Coordinator | None = None
    weekly: WeeklyRecommendations | None = None  # the opt-in weekly "for you" messages (bot.similar.weekly)
    backfill: Backfill | None = None  # the similarity index's catch-up, under the upkeep lease
    warmer: SummaryWarmer | None = None  # composes new digests' summaries ahead of their readers

    @classmethod
    async def open(cls, settings: Settings, outbound: Outbound, *, clock: Clock = system_clock,
                   platform: str | None = None, shards: ShardSet = EVERY_SHARD) -> App:
        """`platform` ("console", "discord") limits the daily posts and notifications this process
        sends to that transport's servers and users, so a console on the bot's database sends
        nothing on Discord's behalf. `shards` (the bot: `settings.shards`) limits the daily posts
        to the servers on this process's Discord shards, and gives its sends its share of the
        global rate limit (bot.chat.ratelimit.share_of)."""
        db, in_use = await open_held(settings.db_address, busy_timeout_ms=settings.database.busy_timeout_ms)
        try:
            lookup = LookupService(db)

            summaries = SummaryCache()
            warmer = SummaryWarmer(db, summaries, clock=clock)
            llm = llm_from(db, settings, clock=clock, summaries=summaries)

            async def render(digest: DigestInfo) -> list[Reply]:
                summary = await summaries.get(db, digest)
                if llm is not None:  # what the model wrote so far; the post never waits for more
                    summary = await llm.enrich(summary, post=True)
                return render_pages(summary, site=settings.web.public_url)

            runner = runner_from(settings.schedule, db, outbound, render, clock=clock, platform=platform,
                                 shards=shards)
            notification_sender = NotificationSender(db, outbound, settings.subscriptions,
                                                     limiter=runner.poster.limiter, clock=clock)
            wake = asyncio.Event()
            notifications = NotificationQueue(db, clock=clock)
            loader = build_loader(db, settings, clock=clock, lookup=lookup, runner=runner, wake=wake,
                                  notifications=notifications, llm=llm, warmer=warmer)
            await lookup.start(warm=True)
        except BaseException:
            if llm is not None:
                await llm.close()
            await db.close()
            in_use.release()
            raise
        services = Services(db, settings, lookup, loader, clock, summaries, llm)
        app = cls(settings, db, services, runner, notification_sender, notifications, outbound, clock, wake,
                  shards=shards)
        app._in_use = in_use
        app.backfill = Backfill(db, services.activity)
        app.warmer = warmer
        app.weekly = WeeklyRecommendations(
            db, outbound, clock, prefix=f"{platform}:" if platform else "", limiter=runner.poster.limiter,
            resend_window=dt.timedelta(seconds=settings.subscriptions.resend_window_seconds))
        return app

    @property
    def limiter(self) -> TokenBucket | None:
        """This process's share of the global request rate, shared by every sender (and charged by
        the Discord transport for its other requests); None when the runner was given no bucket."""
        limiter = self.runner.poster.limiter
        return limiter if isinstance(limiter, TokenBucket) else None

    @property
    def loader(self) -> Loader:
        return self.services.loader

    def context(self, user_id: str, *, guild_id: str | None = None, channel_id: str | None = None,
                is_admin: bool = False, transport: str = "console", user_name: str = "") -> Context:
        return Context(self.services, user_id, guild_id, channel_id, is_admin, transport, user_name)

    async def settle(self) -> tuple[RunReport, list[NotificationRecord]]:
        """Do what the background jobs would have done by the clock's time: send the due daily
        posts, then queue what a load left to match and send the pending notifications (which may
        mention users in a post's thread), then the week's "for you" messages."""
        report = await self.runner.run_due(self.clock())
        await self.notifications.drain()
        sent = await self.notification_sender.send_pending()
        if self.weekly is not None:
            await self.weekly.send_due()
        return report, sent

    async def start(self, *, notify_interval: float = 30.0) -> None:
        """Start the background jobs on the running event loop: the daily-post scheduler,
        notifications queued and sent after each load and every `notify_interval` seconds
        (resuming digests a crash left unmatched, retries), and, while this process holds their
        leases, fetching from the sources that `[fetch]` enables and the upkeep."""
        topics = await warm_up(self.db)  # the first digest's matching then finds every topic parsed
        log.info("%d subscribed topics ready for matching", topics)
        await self.notification_sender.recover()
        if self.weekly is not None:
            await self.weekly.recover()
        await self.runner.start()
        self._tasks.append(asyncio.create_task(self._notify_forever(notify_interval)))
        work = [Leased(UPKEEP, self._start_upkeep, self._stop_upkeep)]
        if self.settings.fetch.enabled:
            from bot.sources.poller import poller_from

            self._poller = poller_from(self.settings, self.db, self.loader, clock=self.clock)
            if self._poller.names:
                work.append(Leased(FETCH, self._start_fetching, self._stop_fetching))
        self.services.lookup.sync.upkeep = False  # until this process holds the upkeep lease
        if self.warmer is not None:
            self.warmer.active = False
        # The wall clock, not the app's: the processes compare their times with each other's.
        self._coordinator = Coordinator(self.db, self.settings.processes, work,
                                        shards=self.shards.label)
        await self._coordinator.start()

    @property
    def holds(self) -> set[str]:
        """The leases this process holds (the work it runs for all processes)."""
        return set(self._coordinator.holds) if self._coordinator is not None else set()

    async def _start_fetching(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from bot.sources.poller import schedule_polling

        assert self._poller is not None
        self._polling = AsyncIOScheduler(timezone="UTC")
        schedule_polling(self._polling, self._poller)
        self._polling.start()
        log.info("fetching %s", ", ".join(self._poller.names))

    async def _stop_fetching(self) -> None:
        if self._polling is not None:
            self._polling.shutdown(wait=False)
            self._polling = None
        if self._poller is not None:
            await self._poller.stop()  # a poll in flight ends quietly
        log.info("fetching stopped in this process")

    async def _start_upkeep(self) -> None:
        self.services.lookup.sync.upkeep = True
        if self.backfill is not None:
            self.backfill.start()
        if self.warmer is not None:
            self.warmer.start()

    async def _stop_upkeep(self) -> None:
        self.services.lookup.sync.upkeep = False
        if self.backfill is not None:
            await self.backfill.stop()  # after the batch in flight
        if self.warmer is not None:
            await self.warmer.stop()

    async def start_web(self, host: str | None = None, port: int | None = None) -> str:
        """Serve the read-only web archive over this app's services (`[web] host`/`port` unless
        given); returns the address it listens at. Raises WebServerError when it cannot listen."""
        from bot.web.server import WebServer

        web = self.settings.web
        self._web = await WebServer.start(self.services, web.host if host is None else host,
                                          web.port if port is None else port)
        return self._web.url

    async def _notify_forever(self, interval: float) -> None:
        while True:
            # The first round runs at once: a digest whose matching a crash interrupted, and
            # notifications queued while the bot was down (or by a CLI load), must not wait for
            # the first interval.
            try:
                await self.notifications.drain()
                # What a process that died mid-send left (another one's, sharing the database),
                # as the daily post's runs do; rows a live process is sending are its own.
                await self.notification_sender.recover()
                await self.notification_sender.send_pending()
            except ConnectionLost as exc:  # the server restarting: nothing to debug
                log.warning("sending notifications paused: %s", exc)
            except Exception:  # noqa: BLE001 - one failed round must not stop notifications
                log.exception("sending notifications failed; trying again later")
            try:
                if self.weekly is not None:
                    await self.weekly.send_due()
            except ConnectionLost as exc:
                log.warning("sending the weekly recommendations paused: %s", exc)
            except Exception:  # noqa: BLE001 - nor the weekly messages
                log.exception("sending the weekly recommendations failed; trying again later")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)  # set once a load committed
            except TimeoutError:
                pass
            self._wake.clear()

    async def close(self) -> None:
        if self._web is not None:
            await self._web.close()  # first: its requests read the database
        if self._coordinator is not None:
            await self._coordinator.close()  # leased work stops; another process takes it over at once
        if self._polling is not None:
            self._polling.shutdown(wait=False)
        if self._poller is not None:
            await self._poller.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.warmer is not None:
            await self.warmer.close()  # its rounds and the summaries being composed stop; counts taken are kept
        self.runner.stop()
        if self.services.llm is not None:
            await self.services.llm.close()  # summaries being written stop; the next load writes them
        await self.services.lookup.close()  # a title-index snapshot being written finishes first
        await self.db.close()
        if self._in_use is not None:
            self._in_use.release()

