"""How the bot is doing, for operators: the archive, a server's daily post, what waits to be sent,
what failed, each digest source's health, and the processes running (bot.processes.report).

One report, gathered here without any transport, shown three ways: `/status` (server admins, a
card), `paperboy status` (text or JSON) and, for the sources part, `paperboy sources`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.config import ConfigError, Settings
from bot.llm.service import LlmReport
from bot.llm.service import report as llm_report
from bot.processes.report import ProcessesReport, gather_processes
from bot.redact import redact
from bot.schedule.settings import describe
from bot.similar.index import Coverage, coverage
from bot.summary.render import EMPTY_DAY
from storage import digests as digest_repo
from storage import fetch_state
from storage import guilds as guild_repo
from storage import notifications as notification_repo
from storage import papers as paper_repo
from storage import posts as post_repo
from storage.db import Database, now_utc
from storage.fetch_state import SourceStatus
from storage.guilds import GuildSchedule
from storage.posts import PostRecord
from storage.processes import FETCH, UPKEEP
from storage.records import DigestInfo

MAX_ERRORS = 3  # failed posts and notifications shown (the newest); the CLI logs have them all


@dataclass(slots=True, frozen=True)
class StatusReport:
    now: dt.datetime
    papers: int
    digests: int
    latest: DigestInfo | None
    waiting_posts: int
    waiting_notifications: int
    failed_posts: int
    failed_notifications: int
    errors: list[str]  # the newest failures, one line each
    sources: list[SourceStatus]
    enabled_sources: list[str]
    sources_problem: str | None = None  # the [fetch] settings cannot be used
    guild_id: str | None = None
    schedule: GuildSchedule | None = None
    last_post: PostRecord | None = None
    llm: LlmReport | None = None  # None: [llm] is off
    processes: ProcessesReport | None = None
    similar: Coverage | None = None  # how far the similarity index is

    def to_json(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "as_of": self.now, "papers": self.papers, "digests": self.digests,
            "last_digest": None if latest is None else {
                "source": latest.source, "date": latest.date, "papers": latest.papers,
                "fetched_at": latest.fetched_at},
            "waiting": {"posts": self.waiting_posts, "notifications": self.waiting_notifications},
            "failed": {"posts": self.failed_posts, "notifications": self.failed_notifications},
            "errors": self.errors,
            "sources": [source_json(s, self.enabled_sources, self.now) for s in self.sources],
            "sources_problem": self.sources_problem,
            "llm": self.llm.to_json() if self.llm else {"enabled": False},
            **({"similar": {"indexed": self.similar.indexed, "papers": self.similar.papers}} if self.similar else {}),
            **(self.processes.to_json() if self.processes else {}),
        }


def enabled_sources(settings: Settings) -> tuple[list[str], str | None]:
    """The names of the digest sources the settings enable (the inbox included), or the reason
    the [fetch] settings cannot be used."""
    from bot.sources.poller import inbox_from, sources_from  # aiohttp: only when asked

    try:
        names = [s.name for s in sources_from(settings.fetch, settings.ingest)]
    except ConfigError as exc:
        return [], str(exc)
    if inbox_from(settings) is not None:
        names.append("inbox")
    return names, None


async def gather(db: Database, settings: Settings, *, now: dt.datetime, guild_id: str | None = None,
                 wall: dt.datetime | None = None) -> StatusReport:
    """As of `now` (the app's clock); heartbeats are aged by `wall`, the real time (default: now)."""
    stats = await paper_repo.stats(db)
    names, problem = enabled_sources(settings)
    broken = await post_repo.posts_in_status(db, ["failed", "unknown"])
    undelivered = await notification_repo.notifications_in_status(db, ["failed", "unknown"])
    errors = [f"post {p.post_date.isoformat()} {p.guild_id}: {p.status}, {p.reason or p.error or 'no reason given'}"
              for p in broken[-MAX_ERRORS:]]
    errors += [f"notification #{d.id} to {d.user_id}: {d.status}, {d.reason or d.error or 'no reason given'}"
               for d in undelivered[-MAX_ERRORS:]]
    schedule = last_post = None
    if guild_id is not None:
        schedule = await guild_repo.get_schedule(db, guild_id)
        recent = await post_repo.list_posts(db, guild_id=guild_id, limit=1)
        last_post = recent[0] if recent else None
    return StatusReport(
        now=now, papers=stats.papers, digests=stats.digests, latest=await digest_repo.find_digest(db, empty=True),
        waiting_posts=len(await post_repo.posts_in_status(db, ["pending", "sending"])),
        waiting_notifications=len(await notification_repo.notifications_in_status(db, ["pending", "sending"])),
        failed_posts=len(broken), failed_notifications=len(undelivered), errors=errors,
        sources=await fetch_state.source_status(db, names), enabled_sources=names, sources_problem=problem,
        guild_id=guild_id, schedule=schedule, last_post=last_post, llm=await llm_report(db, settings, now),
        processes=await gather_processes(db, settings.processes, wall or now_utc(),
                                         [UPKEEP, FETCH] if names else [UPKEEP]),
        similar=await coverage(db))


def when(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def source_line(s: SourceStatus, enabled: list[str], now: dt.datetime) -> str:
    """One source's health in a line (two when it is failing)."""
    newest = s.newest_digest
    stored = f"{s.stored_digests} digest{'' if s.stored_digests == 1 else 's'} stored" if s.stored_digests else ""
    if s.last_outcome is None:
        state = f"not fetched yet ({stored}, loaded by hand)" if stored else "not fetched yet, nothing stored"
        line = f"{s.source}: {state}"
    else:
        line = f"{s.source}: {s.last_outcome}, last success {when(s.last_success_at)}"
        line += f", {stored}" if stored else ""
    line += f", newest digest {newest.isoformat() if newest else '-'}"
    if s.source not in enabled:
        line += " (disabled)"
    if s.consecutive_failures:
        line += f"\n  {s.consecutive_failures} failure{'' if s.consecutive_failures == 1 else 's'} in a row"
        if s.backing_off(now):
            line += f", backing off until {when(s.backoff_until)}"
        line += f": {redact(s.last_error) if s.last_error else 'no reason given'}"
    return line


def source_json(s: SourceStatus, enabled: list[str], now: dt.datetime) -> dict[str, Any]:
    return {"source": s.source, "enabled": s.source in enabled, "last_outcome": s.last_outcome,
            "last_attempt_at": s.last_attempt_at, "last_success_at": s.last_success_at,
            "last_failure_at": s.last_failure_at, "last_error": redact(s.last_error) if s.last_error else None,
            "consecutive_failures": s.consecutive_failures, "backing_off": s.backing_off(now),
            "backoff_until": s.backoff_until, "last_date": s.last_date,
            "stored_digests": s.stored_digests, "newest_digest": s.newest_digest}


def sources_text(report: StatusReport) -> str:
    if report.sources_problem:
        return f"cannot fetch: {report.sources_problem}"
    if not report.sources:
        return "none enabled: digests arrive by /ingest (see [fetch] in config/paperboy.toml)"
    return "\n".join(source_line(s, report.enabled_sources, report.now) for s in report.sources)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def sections(report: StatusReport, *, operator: bool = False) -> list[tuple[str, str]]:
    """(heading, text) pairs in the order every front end shows them; `operator` (the CLI) names
    each process's host and pid, which server admins do not see."""
    latest = report.latest
    out = [("Archive", f"{_count(report.papers, 'paper')} in {_count(report.digests, 'digest')}"),
           ("Last digest", "none yet: load one with /ingest" if latest is None else
            f"{latest.source} · {latest.date.isoformat()} · "
            f"{f'{latest.papers} papers' if latest.papers else EMPTY_DAY}, fetched {when(latest.fetched_at)}")]
    if report.guild_id is not None:
        text = describe(report.schedule) if report.schedule else "not set up (/setup channel)"
        if report.last_post is not None:
            last = report.last_post
            text += f"\nLast: {last.post_date.isoformat()} {last.status}" + (f" ({last.reason})" if last.reason else "")
        out.append(("This server's daily post", text))
    out.append(("Sources", sources_text(report)))
    if report.llm is not None:
        out.append(("Model summaries", report.llm.text()))
    if report.similar is not None and not report.similar.complete:
        out.append(("Similar papers", f"{report.similar.text()}; the bot weighs the rest in the background "
                                      "(or: paperboy similar --rebuild)"))
    out.append(("Waiting to be sent", f"{_count(report.waiting_posts, 'daily post')}, "
                                      f"{_count(report.waiting_notifications, 'topic notification')}"))
    errors = list(report.errors)
    if report.failed_posts + report.failed_notifications > len(errors):
        need = f"{_count(report.failed_posts, 'post')} and {_count(report.failed_notifications, 'notification')}"
        errors.insert(0, f"{need} need attention (`paperboy posts`, `paperboy deliveries`); the latest:")
    out.append(("Errors", "\n".join(errors) if errors else "none"))
    if report.processes is not None:
        out.append(("Processes", report.processes.text(operator=operator)))
    return out
