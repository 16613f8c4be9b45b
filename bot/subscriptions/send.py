"""Sends queued notifications through an `Outbound`, recording each step in the notification log.

Order of writes, as for the daily post (bot.schedule.poster), so a crash never repeats or loses one:
1. 'pending' (queued once the digest committed: bot.subscriptions.notify) — nothing sent; any
   later run sends it.
2. 'sending' before the request (compare-and-set: two senders never both take a row). A crash now
   leaves 'sending': `recover` re-sends it with its idempotency key (a channel mention and a
   direct message alike: Discord dedupes a message nonce in any channel) while the transport
   still dedupes it, and marks older ones 'unknown' (sending those again could repeat them).
   A sender holds the rows it sends (storage.notifications.hold_notifications) from before
   'sending' until the outcome is written; the holds of a process end when it dies. So `recover`,
   run at start-up and before every round, settles only the rows of a process that died (another
   one, or this one before a restart), never those a live process is sending.
3. 'sent', or 'pending' again with a backoff after a temporary failure, or 'failed' with a reason.

A round of notifications shares transactions as the daily post's runs do (storage.sendlog): 'sending'
is written for a few notifications at a time in the order they go out, each still before its own
request, and the 'sent' marks are batched off the send path and written before the round ends.

Fallback: a user who cannot be reached the way they prefer (direct messages closed, the channel
gone, no digest thread known) is tried the other way when their preferences allow it; the row's
`kind` says how it finally went and `reason` how it got there. Nothing is dropped silently: every
notification ends 'sent', 'failed' (reason) or 'unknown' (reason), all listed by `paperboy deliveries`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import replace
from typing import Any

from bot.chat.outbound import Outbound, RecipientUnreachable, SendError, Sent
from bot.config import SubscriptionSettings
from bot.subscriptions.render import render_notification
from storage import guilds as guild_repo
from storage import notifications as notification_repo
from storage import papers as paper_repo
from storage import posts as post_repo
from storage import subscriptions as sub_repo
from storage.db import Database, now_utc
from storage.notifications import NotificationRecord
from storage.subscriptions import UserPrefs

log = logging.getLogger(__name__)

Report = Callable[[NotificationRecord], Awaitable[None]]
# As for the daily post (bot.schedule.poster): 'sending' for this many notifications at a time,
# and results gathered this long before they are written together.
START_AHEAD = 5
RESULT_LINGER = 0.05


def notification_key(notification_id: int) -> str:
    """The idempotency key of a notification, channel mention or direct message (≤ 25 characters)."""
    return f"sub:{notification_id}"


async def digest_channel(db: Database, guild_id: str | None, digest_id: int | None) -> str | None:
    """Where a server shows a digest: the thread (else the message's channel) of its daily post for
    that digest, else the server's post channel; None when the server is unknown."""
    if guild_id is None:
        return None
    if digest_id is not None:
        for post in await post_repo.list_posts(db, guild_id=guild_id, limit=30):
            if post.digest_id == digest_id and post.message_id is not None:
                return post.thread_id or post.channel_id
    schedule = await guild_repo.get_schedule(db, guild_id)
    return schedule.channel_id if schedule else None


class _Permanent(SendError):
    permanent = True


class NotificationSender:
    def __init__(self, db: Database, outbound: Outbound, settings: SubscriptionSettings, *,
                 limiter: AbstractAsyncContextManager[Any] | None = None, report: Report | None = None,
                 clock: Callable[[], dt.datetime] = now_utc) -> None:
        self.db = db
        self.outbound = outbound
        self.settings = settings
        self.limiter = limiter
        self.report = report
        self.clock = clock

    async def send_pending(self) -> list[NotificationRecord]:
        """Send every pending notification that is due; returns the rows as they ended."""
        now = self.clock()
        due = [d for d in await notification_repo.notifications_in_status(self.db, ["pending"])
               if d.next_attempt_at is None or d.next_attempt_at <= now]
        # Only the rows this process takes in hand: another process sending them holds its own.
        held = await notification_repo.hold_notifications(self.db, [d.id for d in due])
        due = [d for d in due if d.id in held]
        gate = asyncio.Semaphore(max(self.settings.concurrency, 1))
        round_ = _Round(self.db)
        round_.starter.plan([(d.id, d.attempts) for d in due])

        async def one(record: NotificationRecord) -> NotificationRecord | None:
            async with gate:
                return await self.send_one(record, now, round_)

        try:
            done = await asyncio.gather(*(one(d) for d in due))
        finally:
            try:
                await round_.results.flush()  # written before the round reports them
            finally:
                # Also when cancelled: a hold kept by a live process hides its rows from recovery.
                await asyncio.shield(notification_repo.release_notifications(self.db, list(held)))
        return [d for d in done if d is not None]

    async def recover(self) -> list[NotificationRecord]:
        """Settle rows a crash left 'sending' (see the module docstring); rows a live task or
        process holds are being sent, and are left to it."""
        stuck = await notification_repo.notifications_in_status(self.db, ["sending"])
        held = await notification_repo.hold_notifications(self.db, [d.id for d in stuck])
        try:
            return await self._recover([d for d in stuck if d.id in held])
        finally:
            await asyncio.shield(notification_repo.release_notifications(self.db, list(held)))

    async def _recover(self, stuck: list[NotificationRecord]) -> list[NotificationRecord]:
        now = self.clock()
        window = dt.timedelta(seconds=self.settings.resend_window_seconds)
        settled = []
        for d in stuck:
            if now - d.updated_at <= window:
                await notification_repo.update_notification(self.db, d.id, expect="sending", status="pending", now=now,
                                                    reason="interrupted while sending; re-sent with its key")
            else:
                await notification_repo.update_notification(
                    self.db, d.id, expect="sending", status="unknown", now=now,
                    reason="interrupted while sending: it may or may not have arrived (not re-sent: never twice)")
            updated = await notification_repo.get_notification(self.db, d.id)
            if updated is not None:
                settled.append(updated)
        return settled

    async def send_one(self, record: NotificationRecord, now: dt.datetime,
                       round_: _Round | None = None) -> NotificationRecord | None:
        """Send one pending row. None when another sender took it first. With a shared `round_`,
        the final 'sent' is written when the round flushes its results."""
        if round_ is None:
            if not await notification_repo.hold_notifications(self.db, [record.id]):
                return None  # another task or process is sending it
            round_ = _Round(self.db)
            try:
                return await self.send_one(record, now, round_)
            finally:
                try:
                    await round_.results.flush()
                finally:
                    await asyncio.shield(notification_repo.release_notifications(self.db, [record.id]))
        attempts = record.attempts + 1
        if not await round_.starter.start(record.id, record.attempts, now):
            return None
        prefs = await sub_repo.get_prefs(self.db, record.user_id)
        kind, reason = record.kind, record.reason
        try:
            try:
                sent = await self._send(record, kind, prefs, now)
            except SendError as exc:
                if not exc.permanent or not await self._can_fall_back(record, kind, prefs):
                    raise
                other = "channel" if kind == "direct" else "direct"
                reason = f"{_why(kind, exc)}; fell back to {_way(other)}"
                log.info("notification %s: %s", record.id, reason)
                await notification_repo.update_notification(self.db, record.id, kind=other, reason=reason,
                                                            error=str(exc), now=now)
                kind = other
                sent = await self._send(record, kind, prefs, now)
        except SendError as exc:
            await self._failed(record, attempts, kind, reason, exc, now)
        except Exception as exc:  # noqa: BLE001 - a transport or render bug: whether it went out is unknown
            log.exception("notification %s: unexpected error", record.id)
            await notification_repo.update_notification(self.db, record.id, status="unknown", error=repr(exc),
                                                        now=now, reason="unexpected error while sending")
        else:
            # A channel mention's message id goes with 'sent' (a direct message's is not kept).
            message_id = sent.message_id if kind == "channel" else None
            done: dict[str, Any] = {"status": "sent", "reason": reason}
            if message_id is not None:
                done["message_id"] = message_id
            round_.results.submit(record.id, now=now, **done)
            current = await notification_repo.get_notification(self.db, record.id)  # 'sending', with any fallback
            if current is None:
                return None
            return await self._report(replace(current, status="sent", reason=reason, updated_at=now,
                                              message_id=message_id or current.message_id))
        return await self._reported(record.id)

    async def _can_fall_back(self, record: NotificationRecord, kind: str, prefs: UserPrefs) -> bool:
        """The user allows it and the other way exists (a direct message always does)."""
        if not prefs.fallback:
            return False
        return kind == "channel" or await digest_channel(self.db, prefs.guild_id, record.digest_id) is not None

    async def _send(self, record: NotificationRecord, kind: str, prefs: UserPrefs, now: dt.datetime) -> Sent:
        papers = {p.id: p for p in await paper_repo.get_papers(self.db, [p.paper_id for p in record.papers])}
        names = {s.query: s.topic for s in await sub_repo.list_subscriptions(self.db, record.user_id)}
        cap = prefs.cap or self.settings.default_cap
        if kind == "direct":
            reply = render_notification(record, papers, names, cap=cap)
            async with self.limiter if self.limiter is not None else nullcontext():
                return await self.outbound.send_direct(record.user_id, reply, key=notification_key(record.id))
        channel = record.channel_id or await digest_channel(self.db, prefs.guild_id, record.digest_id)
        if channel is None:
            raise _Permanent("no_channel: no server or digest thread is known for this user")
        # Written before the request: a re-send after a crash goes to the same channel with the same key.
        await notification_repo.update_notification(self.db, record.id, channel_id=channel, now=now)
        reply = render_notification(record, papers, names, cap=cap, channel=True)
        async with self.limiter if self.limiter is not None else nullcontext():
            return await self.outbound.post(channel, reply, key=notification_key(record.id))

    async def _failed(self, record: NotificationRecord, attempts: int, kind: str, reason: str | None,
                      exc: SendError, now: dt.datetime) -> None:
        if not exc.permanent and attempts < self.settings.retry_attempts:
            wait = min(self.settings.retry_base_seconds * 2 ** (attempts - 1), self.settings.retry_max_seconds)
            await notification_repo.update_notification(self.db, record.id, status="pending", error=str(exc),
                                                        now=now, next_attempt_at=now + dt.timedelta(seconds=wait))
            log.warning("notification %s failed (%s); retrying in %ss", record.id, exc, wait)
            return
        why = _why(kind, exc) if exc.permanent else f"gave up after {attempts} attempts: {exc}"
        if reason and exc.permanent:
            why = f"{reason}; then {why}"
        await notification_repo.update_notification(self.db, record.id, status="failed", reason=why,
                                                    error=str(exc), now=now)
        log.warning("notification %s to %s failed: %s", record.id, record.user_id, why)

    async def _reported(self, notification_id: int) -> NotificationRecord | None:
        updated = await notification_repo.get_notification(self.db, notification_id)
        return None if updated is None else await self._report(updated)

    async def _report(self, record: NotificationRecord) -> NotificationRecord:
        if self.report is not None:
            await self.report(record)
        return record


class _Round:
    """What one round of notifications shares: 'sending' written a few at a time, results batched."""

    def __init__(self, db: Database) -> None:
        self.starter = notification_repo.notification_starter(db, ahead=START_AHEAD)
        self.results = notification_repo.notification_writer(db, linger=RESULT_LINGER)


def _way(kind: str) -> str:
    return "a direct message" if kind == "direct" else "a mention in the server's digest thread"


def _why(kind: str, exc: SendError) -> str:
    """A short reason code first ('dm_closed'), then what happened."""
    if isinstance(exc, _Permanent):
        return str(exc)
    if isinstance(exc, RecipientUnreachable):
        return "dm_closed" if kind == "direct" else f"channel_unreachable: {exc}"
    return f"{kind}_failed: {exc}"
