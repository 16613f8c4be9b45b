"""Sends one server's daily post through an `Outbound`, recording every step in the post log.

Order of writes, and why a crash at any point neither repeats nor loses a post:

1. The row exists as 'pending' (claimed by the runner) — nothing was sent; a restart sends it.
2. 'sending' is written before the first request — a crash now leaves 'sending', which start-up
   recovery re-sends with the same key (the transport returns the message it already created)
   or, past the transport's dedupe window, marks 'unknown' for an operator.
3. With a thread to fill, the main message's id is written as soon as it exists — from then on a
   retry only finishes the thread (each page has its own key and the count of pages sent is kept).
4. 'sent' (with the message's id when there was no thread: one write, not two; a crash before it
   leaves 'sending', which recovery settles as in 2).

A run's posts share transactions (storage.sendlog): 'sending' is written for a few posts at a time
in the order they go out (Starter), and the results are batched off the send path (GroupWriter),
instead of four transactions per post, each holding the database's one transaction lock while
its statements wait on the connection's thread behind everyone's reads. Each post still waits
for its own 'sending' to be written before its request. The run also composes each digest's
summary once, not once per server (1,000 compositions' reads were what the writes waited behind).

A temporary failure puts the row back to 'pending' with a `next_attempt_at` (backoff); a
permanent one, or running out of attempts, ends it as 'failed'. Either way it is reported.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from typing import Any, TypeVar

from bot.chat import limits
from bot.chat.outbound import Outbound, SendError, Sent
from bot.chat.replies import Reply
from bot.schedule.decide import Decision, Policy, after_failure, page_key
from storage import digests as digest_repo
from storage import posts as post_repo
from storage.db import Database
from storage.guilds import GuildSchedule
from storage.posts import Claim, PostRecord
from storage.records import DigestInfo
from storage.sendlog import GroupWriter

log = logging.getLogger(__name__)

Render = Callable[[DigestInfo], Awaitable[list[Reply]]]  # first: the post; the rest: the thread's pages
Report = Callable[[PostRecord], Awaitable[None]]
THREAD_NAME = 100  # Discord's limit on a thread's name
# 'sending' is written for this many posts at a time, in run order: one transaction marks the
# post about to go out and the next few, so at most CLAIM_AHEAD - 1 posts are marked before their
# turn (a crash leaves them 'sending', re-sent with their key by recovery like the rest).
CLAIM_AHEAD = 5
# How long the writer of results gathers them: nobody waits for a result to be written (the run
# does, at its end), so 'sent' marks paced at 45/s share a transaction (at most 20 a second).
RESULT_LINGER = 0.05
K = TypeVar("K")
V = TypeVar("V")


class ComposeError(SendError):
    """The post could not be composed (the renderer failed or had nothing): not worth retrying."""

    permanent = True


def empty_day_note(schedule: GuildSchedule, decision_day: dt.date) -> Reply:
    return Reply(text=f"No new papers digest for {decision_day.isoformat()} — nothing to summarise today.")


class PostRun:
    """What the posts of one run share: the post-log writers and the digests and summaries they carry.

    `plan` gives the posts in the order they will be sent; `start` writes 'sending' for a post
    (and for the next few planned, in the same transaction); `progress` writes a step a retry
    relies on and waits for it; `finished` queues the final result; `close` waits for the results.
    """

    def __init__(self, db: Database, render: Render) -> None:
        self.db = db
        self.render = render
        self.writer: GroupWriter = post_repo.post_writer(db)
        self.results: GroupWriter = post_repo.post_writer(db, linger=RESULT_LINGER)
        self.starter = post_repo.post_starter(db, ahead=CLAIM_AHEAD)
        self._digests: dict[int, asyncio.Future[DigestInfo | None]] = {}
        self._rendered: dict[DigestInfo, asyncio.Future[list[Reply]]] = {}

    def plan(self, records: Sequence[PostRecord]) -> None:
        self.starter.plan([(r.id, r.attempts) for r in records])

    async def start(self, record: PostRecord, now: dt.datetime) -> bool:
        """pending → sending (attempts + 1), written before this returns; False when another
        task or process took the row first."""
        return await self.starter.start(record.id, record.attempts, now)

    async def progress(self, post_id: int, now: dt.datetime, **values: Any) -> None:
        await self.writer.update(post_id, now=now, **values)

    def finished(self, post_id: int, now: dt.datetime, **values: Any) -> None:
        self.results.submit(post_id, now=now, **values)

    async def close(self) -> None:
        await self.results.flush()

    async def digest(self, digest_id: int) -> DigestInfo | None:
        return await self._once(self._digests, digest_id, lambda: digest_repo.get_digest(self.db, digest_id))

    async def replies(self, digest: DigestInfo) -> list[Reply]:
        """The digest's post and pages, composed by the first post that asks; a copy for each caller."""
        replies = await self._once(self._rendered, digest, lambda: self.render(digest))
        return copy.deepcopy(replies)

    async def _once(self, cache: dict[K, asyncio.Future[V]], key: K, make: Callable[[], Awaitable[V]]) -> V:
        # The first caller computes; the others wait for the same result (or the same error).
        known = cache.get(key)
        if known is None:
            known = cache[key] = asyncio.ensure_future(make())
        return await asyncio.shield(known)


class Poster:
    def __init__(self, db: Database, outbound: Outbound, render: Render, *, policy: Policy = Policy(),
                 limiter: AbstractAsyncContextManager[Any] | None = None, report: Report | None = None) -> None:
        self.db = db
        self.outbound = outbound
        self.render = render
        self.policy = policy
        self.limiter = limiter
        self.report = report

    def new_run(self) -> PostRun:
        """What posts sent together share (pass it to `send_post`, then `await run.close()`)."""
        return PostRun(self.db, self.render)

    async def record(self, decisions: Sequence[Decision], now: dt.datetime) -> list[PostRecord | None]:
        """Put decisions in the log, in one transaction: 'pending' for a post, 'skipped' with its
        reason otherwise. None for each server's day already logged (by another task or process)."""
        return await post_repo.claim_many(self.db, [
            Claim(guild_id=d.schedule.guild_id, channel_id=d.schedule.channel_id, post_date=d.day, kind=d.kind,
                  key=d.key, digest_id=d.digest.id if d.digest else None,
                  status="pending" if d.action == "post" else "skipped", reason=d.reason)
            for d in decisions], now=now)

    async def send_post(self, record: PostRecord, schedule: GuildSchedule, now: dt.datetime,
                      run: PostRun | None = None) -> PostRecord | None:
        """Send a 'pending' row; the log's times are the run's `now`. None when another task took
        it first. With a shared `run`, the final 'sent' is written by `run.close()`."""
        if run is None:
            run = self.new_run()
            try:
                return await self.send_post(record, schedule, now, run)
            finally:
                await run.close()
        if not await run.start(record, now):
            return None
        record = replace(record, status="sending", attempts=record.attempts + 1, next_attempt_at=None,
                         updated_at=now)
        try:
            record = await self._send_all(record, schedule, now, run)
        except SendError as exc:
            return await self._failed(record, exc, now)
        except Exception as exc:  # noqa: BLE001 - a transport bug: whether it went out is unknown
            log.exception("daily post for %s on %s: unexpected error", record.guild_id, record.post_date)
            await post_repo.update_post(self.db, record.id, status="unknown", error=repr(exc), now=now,
                                        reason="unexpected error while sending; check the channel")
            return await self._reported(record.id)
        run.finished(record.id, now, status="sent", reason=None, message_id=record.message_id)
        return replace(record, status="sent", reason=None)

    async def _send_all(self, record: PostRecord, schedule: GuildSchedule, now: dt.datetime,
                        run: PostRun) -> PostRecord:
        """Send what of the post is not out yet; the record as it then is (not yet written 'sent')."""
        replies, thread_name = await self._compose(record, schedule, run)
        pages = replies[1:] if schedule.thread else []
        if record.message_id is None:
            sent = await self._call(self.outbound.post, record.channel_id, replies[0], key=record.key)
            record = replace(record, message_id=sent.message_id)
            if pages:  # written now, so that a retry finishes the thread instead of posting again
                await run.progress(record.id, now, message_id=sent.message_id)
        if not pages:
            return record
        assert record.message_id is not None
        if record.thread_id is None:
            thread_id = await self._call(self.outbound.start_thread, Sent(record.channel_id, record.message_id),
                                         thread_name)
            await run.progress(record.id, now, thread_id=thread_id)
            record = replace(record, thread_id=thread_id)
        assert record.thread_id is not None
        for i in range(record.pages_sent, len(pages)):
            await self._call(self.outbound.post, record.thread_id, pages[i], key=page_key(record.key, i))
            await run.progress(record.id, now, pages_sent=i + 1)
            record = replace(record, pages_sent=i + 1)
        return record

    async def _compose(self, record: PostRecord, schedule: GuildSchedule, run: PostRun) -> tuple[list[Reply], str]:
        if record.kind == "note":
            replies = [empty_day_note(schedule, record.post_date)]
            name = ""
        else:
            digest = await run.digest(record.digest_id) if record.digest_id else None
            if digest is None:
                raise ComposeError("the digest is no longer in the archive")
            try:
                replies = await run.replies(digest)
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

    async def _failed(self, record: PostRecord, exc: SendError, now: dt.datetime) -> PostRecord | None:
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
