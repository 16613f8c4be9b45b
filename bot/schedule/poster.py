"""Sends one server's daily post through an `Outbound`, recording every step in the post log.

Order of writes, and why a crash at any point neither repeats nor loses a post:

1. The row exists as 'pending' (claimed by the runner) — nothing was sent; a restart sends it.
2. 'sending' is written before the first request — a crash now leaves 'sending', which start-up
   recovery re-sends with the same key (the transport returns the message it already created)
   or, past the transport's dedupe window, marks 'unknown' for an operator.
3. The main message's id is written as soon as it exists — from then on a retry only finishes
   the thread (each page has its own key and the count of pages sent is kept).
4. 'sent'.

A temporary failure puts the row back to 'pending' with a `next_attempt_at` (backoff); a
permanent one, or running out of attempts, ends it as 'failed'. Either way it is reported.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from typing import Any

from bot import limits
from bot.delivery import DeliveryError, Outbound, Sent
from bot.replies import Reply
from bot.schedule.decide import Decision, Policy, after_failure, page_key
from storage import digests as digest_repo
from storage import posts as post_repo
from storage.db import Database
from storage.guilds import GuildSchedule
from storage.posts import PostRecord
from storage.records import DigestInfo

log = logging.getLogger(__name__)

Render = Callable[[DigestInfo], Awaitable[list[Reply]]]  # first: the post; the rest: the thread's pages
Report = Callable[[PostRecord], Awaitable[None]]
THREAD_NAME = 100  # Discord's limit on a thread's name


class ComposeError(DeliveryError):
    """The post could not be composed (the renderer failed or had nothing): not worth retrying."""

    permanent = True


def empty_day_note(schedule: GuildSchedule, decision_day: dt.date) -> Reply:
    return Reply(text=f"No new papers digest for {decision_day.isoformat()} — nothing to summarise today.")


class Poster:
    def __init__(self, db: Database, outbound: Outbound, render: Render, *, policy: Policy = Policy(),
                 limiter: AbstractAsyncContextManager[Any] | None = None, report: Report | None = None) -> None:
        self.db = db
        self.outbound = outbound
        self.render = render
        self.policy = policy
        self.limiter = limiter
        self.report = report

    async def record(self, decision: Decision, now: dt.datetime) -> PostRecord | None:
        """Put a decision in the log: 'pending' for a post, 'skipped' with its reason otherwise.
        None when the server's day was already logged (by another task or process)."""
        s = decision.schedule
        return await post_repo.claim(
            self.db, guild_id=s.guild_id, channel_id=s.channel_id, post_date=decision.day, kind=decision.kind,
            key=decision.key, digest_id=decision.digest.id if decision.digest else None,
            status="pending" if decision.action == "post" else "skipped", reason=decision.reason, now=now)

    async def deliver(self, record: PostRecord, schedule: GuildSchedule, now: dt.datetime) -> PostRecord | None:
        """Send a 'pending' row; the log's times are the run's `now`. None when another task took it first."""
        attempts = record.attempts + 1
        if not await post_repo.update_post(self.db, record.id, expect="pending", status="sending",
                                           attempts=attempts, next_attempt_at=None, now=now):
            return None
        record = replace(record, status="sending", attempts=attempts)
        try:
            await self._send_all(record, schedule, now)
        except DeliveryError as exc:
            return await self._failed(record, exc, now)
        except Exception as exc:  # noqa: BLE001 - a transport bug: whether it went out is unknown
            log.exception("daily post for %s on %s: unexpected error", record.guild_id, record.post_date)
            await post_repo.update_post(self.db, record.id, status="unknown", error=repr(exc), now=now,
                                        reason="unexpected error while sending; check the channel")
            return await self._reported(record.id)
        await post_repo.update_post(self.db, record.id, status="sent", reason=None, now=now)
        return await post_repo.get_post(self.db, record.id)

    async def _send_all(self, record: PostRecord, schedule: GuildSchedule, now: dt.datetime) -> None:
        replies, thread_name = await self._compose(record, schedule)
        message_id = record.message_id
        if message_id is None:
            sent = await self._call(self.outbound.post, record.channel_id, replies[0], key=record.key)
            message_id = sent.message_id
            await post_repo.update_post(self.db, record.id, message_id=message_id, now=now)
        pages = replies[1:] if schedule.thread else []
        if not pages:
            return
        thread_id = record.thread_id
        if thread_id is None:
            thread_id = await self._call(self.outbound.start_thread, Sent(record.channel_id, message_id), thread_name)
            await post_repo.update_post(self.db, record.id, thread_id=thread_id, now=now)
        for i in range(record.pages_sent, len(pages)):
            await self._call(self.outbound.post, thread_id, pages[i], key=page_key(record.key, i))
            await post_repo.update_post(self.db, record.id, pages_sent=i + 1, now=now)

    async def _compose(self, record: PostRecord, schedule: GuildSchedule) -> tuple[list[Reply], str]:
        if record.kind == "note":
            replies = [empty_day_note(schedule, record.post_date)]
            name = ""
        else:
            digest = await digest_repo.get_digest(self.db, record.digest_id) if record.digest_id else None
            if digest is None:
                raise ComposeError("the digest is no longer in the archive")
            try:
                replies = await self.render(digest)
            except Exception as exc:  # noqa: BLE001 - a renderer bug must fail this post, not the run
                log.exception("rendering digest %s for %s failed", digest.id, record.guild_id)
                raise ComposeError(f"could not compose the post: {exc.__class__.__name__}: {exc}") from exc
            if not replies:
                raise ComposeError("the summary had nothing to post")
            name = limits.truncate(f"{digest.source} {digest.date.isoformat()}: all {digest.papers} papers",
                                   THREAD_NAME)
        if schedule.role_id is not None:
            replies[0] = replace(replies[0], mention_role_id=schedule.role_id)
        return replies, name

    async def _call(self, request: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """One request to the transport, under the shared rate limit when there is one."""
        async with self.limiter if self.limiter is not None else nullcontext():
            return await request(*args, **kwargs)

    async def _failed(self, record: PostRecord, exc: DeliveryError, now: dt.datetime) -> PostRecord | None:
        current = await post_repo.get_post(self.db, record.id)
        if current is None:
            return None
        outcome = after_failure(current, exc, now, self.policy)
        if outcome.retry_at is not None:
            await post_repo.update_post(self.db, record.id, status="pending", next_attempt_at=outcome.retry_at,
                                        error=str(exc), now=now)
        elif current.message_id is not None:
            # The post itself is out; only the thread failed for good. Don't call the day failed.
            await post_repo.update_post(self.db, record.id, status="sent", error=f"thread: {outcome.reason}",
                                        now=now)
        else:
            await post_repo.update_post(self.db, record.id, status="failed", reason=outcome.reason,
                                        error=str(exc), now=now)
        log.warning("daily post for %s (%s) failed: %s; %s", record.guild_id, record.post_date, exc,
                    f"retrying at {outcome.retry_at.isoformat()}" if outcome.retry_at else "not retrying")
        return await self._reported(record.id)

    async def _reported(self, post_id: int) -> PostRecord | None:
        updated = await post_repo.get_post(self.db, post_id)
        if updated is not None and self.report is not None:
            await self.report(updated)
        return updated
