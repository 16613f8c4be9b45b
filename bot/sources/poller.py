"""The fetch poller: asks each configured source for the day's digest, loads what is new, and
remembers each source's health, so one failing source backs off without stopping the others.

`poll_once(now)` is the whole job, safe to call at any time: a source is skipped while it backs
off, and once its day's digest is loaded it is only re-checked every `recheck` (conditional
requests make that cheap), so a digest that grows during the day is updated. Loads go through the
normal `Loader` (one transaction per fetch, its `after_load` hooks included); `on_loaded` is then
called with the results, after the commit. The app schedules it with `schedule_polling`;
`paperboy fetch` calls `poll_once(force=True)`, `fetch_day` and `backfill` directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import ConfigError, FetchSettings, IngestSettings, Settings
from bot.download.http import DownloadError, HttpClient, HttpPolicy, Sleep, user_agent
from bot.ingest.load import IngestOptions
from bot.schedule.clock import Clock, system_clock
from bot.sources.arxiv_api import ArxivApiSource
from bot.sources.arxiv_rss import ArxivRssSource
from bot.sources.base import Fetched, Net, Source
from bot.sources.hf_daily import HfDailySource
from bot.sources.inbox import Inbox
from storage import fetch_state
from storage.db import Database
from storage.errors import ConnectionLost, InputError
from storage.fetch_state import SourceStatus
from storage.loader import Loader
from storage.records import LoadResult

log = logging.getLogger(__name__)

OnLoaded = Callable[[list[LoadResult]], Awaitable[None]]


@dataclass(slots=True, frozen=True)
class PollPolicy:
    timezone: dt.tzinfo = dt.UTC
    window_start: dt.time = dt.time(0, 0)
    window_end: dt.time = dt.time(23, 59)
    interval: dt.timedelta = dt.timedelta(minutes=15)
    recheck: dt.timedelta | None = dt.timedelta(hours=1)  # None: a loaded day is not checked again
    backoff_base: dt.timedelta = dt.timedelta(minutes=15)
    backoff_max: dt.timedelta = dt.timedelta(hours=12)

    def today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(self.timezone).date()

    def in_window(self, now: dt.datetime) -> bool:
        local = now.astimezone(self.timezone).time().replace(second=0, microsecond=0)
        if self.window_start <= self.window_end:
            return self.window_start <= local <= self.window_end
        return local >= self.window_start or local <= self.window_end  # a window across midnight

    def backoff(self, failures: int) -> dt.timedelta:
        return min(self.backoff_max, self.backoff_base * int(2 ** max(failures - 1, 0)))


@dataclass(slots=True)
class SourceOutcome:
    """What fetching one source did. `status` is one of: loaded (something changed), unchanged,
    empty (nothing that day: expected on weekends), not-yet (the feed still holds an older day),
    failed, skipped (backing off, already done, or cannot backfill)."""

    source: str
    date: dt.date | None
    status: str
    papers: int = 0
    new: int = 0
    updated: int = 0
    error: str | None = None
    note: str = ""
    results: list[LoadResult] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "date": self.date.isoformat() if self.date else None, "status": self.status,
                "papers": self.papers, "new": self.new, "updated": self.updated, "error": self.error,
                "note": self.note or None}


@dataclass(slots=True)
class PollReport:
    now: dt.datetime
    day: dt.date
    outcomes: list[SourceOutcome] = field(default_factory=list)


class Poller:
    """Fetches from `sources` (and an optional inbox). Owns `client`: `await poller.close()`."""

    def __init__(self, db: Database, loader: Loader, client: HttpClient, sources: Sequence[Source], *,
                 inbox: Inbox | None = None, policy: PollPolicy = PollPolicy(), clock: Clock = system_clock,
                 on_loaded: OnLoaded | None = None) -> None:
        self.db = db
        self.loader = loader
        self.client = client
        self.sources = list(sources)
        self.inbox = inbox
        self.policy = policy
        self.clock = clock
        self.on_loaded = on_loaded
        self._kicks: set[asyncio.Task[Any]] = set()  # the scheduled jobs running now (see close)
        self._closing = False

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.sources] + ([self.inbox.name] if self.inbox else [])

    async def close(self) -> None:
        """Stop a scheduled poll in flight (it ends quietly, before the database closes) and the client."""
        await self.stop()
        self._closing = True
        await self.client.close()

    async def stop(self) -> None:
        """Stop a scheduled poll in flight; it ends quietly (the process is closing, or another one
        fetches now). The poller can be scheduled again."""
        self._closing = True
        running = [task for task in self._kicks if task is not asyncio.current_task()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._closing = False

    async def status(self) -> list[SourceStatus]:
        """Every source's health, the configured ones included even before their first fetch."""
        return await fetch_state.source_status(self.db, self.names)

    # -- the job --------------------------------------------------------------------------------

    async def poll_once(self, now: dt.datetime | None = None, *, force: bool = False) -> PollReport:
        """Poll every source that is due at `now`. `force` polls all of them, inside the window or
        not, backing off or not (`paperboy fetch`)."""
        now = now or self.clock()
        report = PollReport(now, self.policy.today(now))
        jobs: list[Awaitable[SourceOutcome | None]] = []
        if force or self.policy.in_window(now):
            jobs += [self._poll(source, report.day, now, force) for source in self.sources]
        if self.inbox is not None:
            jobs.append(self._poll_inbox(self.inbox, report.day, now, force))
        report.outcomes = [o for o in await asyncio.gather(*jobs) if o is not None]
        return report

    async def kick(self) -> None:
        """The scheduled job. Runs never overlap (the job has max_instances=1) and a tick missed
        while one ran is simply the next interval's work."""
        task = asyncio.current_task()
        if task is not None:
            self._kicks.add(task)
        try:
            await self.poll_once()
        except asyncio.CancelledError:
            if not self._closing:
                raise
            log.info("fetch poll stopped: shutting down")  # not the scheduler's error to report
        except ConnectionLost as exc:  # the server restarting: nothing to debug
            log.warning("fetch poll paused: %s", exc)
        except Exception:  # noqa: BLE001 - a failed poll must not kill the scheduler
            log.exception("fetch poll failed; the next interval tries again")
        finally:
            self._kicks.discard(task)  # type: ignore[arg-type]

    async def _poll(self, source: Source, day: dt.date, now: dt.datetime, force: bool) -> SourceOutcome | None:
        if not force:
            status = await fetch_state.get_status(self.db, source.name)
            if status.backing_off(now):
                return None
            done = (await fetch_state.day_statuses(self.db, source.name, day, day)).get(day) == "loaded"
            if done and (self.policy.recheck is None or (
                    status.last_attempt_at is not None and now - status.last_attempt_at < self.policy.recheck)):
                return None
        return await self.fetch_day(source, day, now)

    async def fetch_day(self, source: Source, day: dt.date, now: dt.datetime | None = None) -> SourceOutcome:
        """Fetch and load `source`'s digest of `day` now, recording how it went. Never raises for a
        source's failure (see `outcome.error`)."""
        now = now or self.clock()
        net = Net(self.client, self.db)
        try:
            fetched = await source.fetch(net, day)
            outcome = await self._load(source, day, fetched, now)
        except (DownloadError, InputError) as exc:
            return await self._failed(source.name, day, str(exc), now)
        except ConnectionLost:  # the archive's failure, not the source's: no back-off, the poll ends
            raise
        except Exception as exc:  # noqa: BLE001 - one source's bug must not stop the others
            log.exception("fetching %s failed unexpectedly", source.name)
            return await self._failed(source.name, day, f"internal error: {exc.__class__.__name__}: {exc}", now)
        # After the commit: a crash before this line only costs a full (unchanged) download next time.
        await fetch_state.save_validators(self.db, net.pending, now)
        return outcome

    async def _failed(self, name: str, day: dt.date, error: str, now: dt.datetime) -> SourceOutcome:
        status = await fetch_state.record_failure(self.db, name, now, error, self.policy.backoff)
        await fetch_state.mark_day(self.db, name, day, "failed", now, error=error)
        log.warning("%s (failure %d in a row; next try after %s)", error, status.consecutive_failures,
                    status.backoff_until)
        return SourceOutcome(name, day, "failed", error=error)

    async def _load(self, source: Source, day: dt.date, fetched: Fetched, now: dt.datetime) -> SourceOutcome:
        name = source.name
        if fetched.not_modified:
            await fetch_state.record_success(self.db, name, now, "unchanged")
            return SourceOutcome(name, fetched.date or day, "unchanged", note=fetched.note)
        if fetched.empty:
            empty_day = fetched.date or day
            await fetch_state.record_success(self.db, name, now, "empty")
            await fetch_state.mark_day(self.db, name, empty_day, "empty", now)
            return SourceOutcome(name, empty_day, "empty", note=fetched.note)
        results = await self.loader.load_many([d for d in fetched.digests if d.papers], now=now)
        changed = any(not r.unchanged for r in results)
        latest = max(r.date for r in results)
        for r in results:
            await fetch_state.mark_day(self.db, name, r.date, "loaded", now, papers=r.papers)
        status = "loaded" if changed else ("not-yet" if latest < day else "unchanged")
        await fetch_state.record_success(self.db, name, now, status, latest)
        if changed:
            await self._announce(results)
        return SourceOutcome(name, latest, status, papers=sum(r.papers for r in results),
                             new=sum(r.new for r in results), updated=sum(r.updated for r in results),
                             note=fetched.note, results=results)

    async def _announce(self, results: list[LoadResult]) -> None:
        if self.on_loaded is None:
            return
        try:
            await self.on_loaded(results)
        except Exception:  # noqa: BLE001 - the digest is stored; a failed hook must not undo the fetch
            log.exception("the on_loaded hook failed for %s", ", ".join(f"{r.source} {r.date}" for r in results))

    async def _poll_inbox(self, inbox: Inbox, day: dt.date, now: dt.datetime, force: bool) -> SourceOutcome | None:
        try:
            files = await inbox.process(self.loader, today=day)
        except OSError as exc:
            return await self._failed(inbox.name, day, f"inbox {inbox.folder}: {exc.strerror or exc}", now)
        results = [r for f in files for r in f.results]
        failed = [f for f in files if not f.outcome.ok]
        if not files:
            await fetch_state.record_success(self.db, inbox.name, now, "empty")
            if not force:
                return None
            return SourceOutcome(inbox.name, None, "empty", note=f"no files waiting in {inbox.folder}")
        await fetch_state.record_success(self.db, inbox.name, now, "loaded",
                                         max((r.date for r in results), default=None))
        if any(not r.unchanged for r in results):
            await self._announce(results)
        note = ", ".join(f"{f.name} -> {f.moved_to}" for f in files)
        return SourceOutcome(inbox.name, None, "failed" if failed else "loaded", papers=sum(r.papers for r in results),
                             new=sum(r.new for r in results), updated=sum(r.updated for r in results),
                             error="; ".join(f.outcome.error or "" for f in failed) or None, note=note,
                             results=results)

    # -- backfill -------------------------------------------------------------------------------

    async def backfill(self, sources: Sequence[Source], since: dt.date, until: dt.date, *,
                       progress: Callable[[SourceOutcome], None] | None = None) -> list[SourceOutcome]:
        """Fetch each day in [since, until] that is not done yet, oldest first. Days are recorded as
        they complete, so running it again after an interruption resumes where it stopped. A source
        stops at its first failed day (the next run starts there); the others carry on."""

        async def one(source: Source) -> list[SourceOutcome]:
            if not source.backfills:
                return [SourceOutcome(source.name, None, "skipped",
                                      note="serves only its latest digest; cannot fetch past days")]
            today = self.policy.today(self.clock())
            done = await fetch_state.day_statuses(self.db, source.name, since, until)
            found = []
            for day in _days(since, until):
                state = done.get(day)
                if state == "loaded" or (state == "empty" and day < today):
                    continue
                outcome = await self.fetch_day(source, day)
                found.append(outcome)
                if progress is not None:
                    progress(outcome)
                if outcome.status == "failed":
                    break
            return found

        per_source = await asyncio.gather(*(one(s) for s in sources))
        return [o for outcomes in per_source for o in outcomes]


def _days(since: dt.date, until: dt.date) -> Iterable[dt.date]:
    day = since
    while day <= until:
        yield day
        day += dt.timedelta(days=1)


def schedule_polling(scheduler: AsyncIOScheduler, poller: Poller, *, every: dt.timedelta | None = None,
                     job_id: str = "fetch-poll") -> Any:
    """Add the poller's interval job (first run right away) to the app's scheduler; returns the Job."""
    interval = every or poller.policy.interval
    return scheduler.add_job(poller.kick, IntervalTrigger(seconds=interval.total_seconds()), id=job_id,
                             replace_existing=True, coalesce=True, max_instances=1, next_run_time=poller.clock())


# -- built from settings ------------------------------------------------------------------------------

def _hhmm(text: str, key: str) -> dt.time:
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"[fetch] {key}: expected a time like 06:30, got {text!r}") from None


def policy_from(settings: FetchSettings) -> PollPolicy:
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[fetch] timezone: unknown time zone {settings.timezone!r}") from None
    if settings.interval_minutes <= 0:
        raise ConfigError(f"[fetch] interval_minutes: must be positive, got {settings.interval_minutes:g}")
    return PollPolicy(
        timezone=zone, window_start=_hhmm(settings.window_start, "window_start"),
        window_end=_hhmm(settings.window_end, "window_end"),
        interval=dt.timedelta(minutes=settings.interval_minutes),
        recheck=dt.timedelta(minutes=settings.recheck_minutes) if settings.recheck_minutes > 0 else None,
        backoff_base=dt.timedelta(minutes=settings.failure_backoff_minutes),
        backoff_max=dt.timedelta(minutes=settings.failure_backoff_max_minutes))


def http_policy_from(settings: FetchSettings) -> HttpPolicy:
    api_host = (settings.arxiv_api_base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]).lower()
    return HttpPolicy(
        timeout_s=settings.timeout_seconds, retries=settings.retries, backoff_base_s=settings.retry_base_seconds,
        backoff_max_s=settings.retry_max_seconds, retry_after_max_s=settings.retry_after_max_seconds,
        max_bytes=settings.max_response_bytes, request_interval_s=settings.request_interval_seconds,
        host_intervals={api_host: settings.arxiv_api_interval_seconds}, user_agent=user_agent(settings.contact))


def sources_from(fetch: FetchSettings, ingest: IngestSettings, *, include_disabled: bool = False) -> list[Source]:
    """The HTTP sources the settings enable (all that can be built, with `include_disabled`)."""
    found: list[Source] = []
    if fetch.hf_enabled or include_disabled:
        found.append(HfDailySource(fetch.hf_base_url, page_size=max(1, min(fetch.hf_page_size, 100)),
                                   max_pages=fetch.hf_max_pages, max_papers=fetch.hf_max_papers))
    if fetch.arxiv_rss_enabled or include_disabled:
        types = frozenset(ingest.announce_types)
        found += [ArxivRssSource(c, fetch.arxiv_rss_base_url, types) for c in fetch.arxiv_rss_categories]
    if (fetch.arxiv_api_enabled or include_disabled) and fetch.arxiv_api_query.strip():
        found.append(ArxivApiSource(fetch.arxiv_api_query.strip(), fetch.arxiv_api_base_url,
                                    page_size=fetch.arxiv_api_page_size, max_results=fetch.arxiv_api_max_results,
                                    days_back=fetch.arxiv_api_days_back))
    elif fetch.arxiv_api_enabled:
        raise ConfigError("[fetch] arxiv_api_enabled is true but arxiv_api_query is empty")
    return found


def inbox_from(settings: Settings, *, include_disabled: bool = False) -> Inbox | None:
    fetch = settings.fetch
    if not (fetch.inbox_enabled or include_disabled):
        return None
    folder = Path(fetch.inbox_path).expanduser() if fetch.inbox_path else (
        Path(settings.db_path).expanduser().resolve().parent / "inbox")
    ingest = settings.ingest
    options = IngestOptions(announce_types=frozenset(ingest.announce_types), chunk_size=ingest.chunk_size,
                            max_download_bytes=ingest.max_download_bytes)
    return Inbox(folder, options, settle_s=fetch.inbox_settle_seconds)


def poller_from(settings: Settings, db: Database, loader: Loader, *, clock: Clock = system_clock,
                on_loaded: OnLoaded | None = None, sleep: Sleep = asyncio.sleep,
                include_disabled: bool = False) -> Poller:
    """A poller configured from `[fetch]` (and `[ingest]` for announce types and the inbox)."""
    client = HttpClient(http_policy_from(settings.fetch), sleep=sleep)
    return Poller(db, loader, client, sources_from(settings.fetch, settings.ingest, include_disabled=include_disabled),
                  inbox=inbox_from(settings, include_disabled=include_disabled), policy=policy_from(settings.fetch),
                  clock=clock, on_loaded=on_loaded)
