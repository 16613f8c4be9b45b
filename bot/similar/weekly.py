"""The opt-in weekly "for you" direct message: once per member per ISO week, across restarts.

Order of writes, as for notifications (bot/subscriptions/send.py):
1. the member's row for the week is inserted as 'sending' before the message goes out (the insert
   is the claim: another process, or this one after a restart, finds the row and sends nothing);
2. the message goes out with the idempotency key "rec:<row id>" (Discord dedupes a nonce for a few
   minutes);
3. 'sent' (or 'empty' when nothing of the week was like their papers: nothing is sent; 'failed'
   when their direct messages are closed; 'retry' after a temporary failure, sent again next round).

A crash between 1 and 3 leaves 'sending'. `recover`, at start-up, settles rows older than a send
takes (so not another live process's): re-sent with their key while the transport still dedupes it
(`resend_window` seconds), else 'unknown' (it may have arrived: never twice).

A member's week starts on Monday morning where they are (bot/similar/week.py: the daily post's
time and zone of the server where they opted in); the week's key is the ISO week of that local
Monday. They get it at the first round after that (or after they opt in), made of the papers
first listed in the 7 days up to their local day. Each member's next due moment is kept with
their opt-in (`next_at`), so a round reads only the members due; whether it went out stays
decided by the claim row alone.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from bot.chat.outbound import Outbound, RecipientUnreachable, SendError
from bot.schedule.clock import Clock, system_clock
from bot.similar.render import recommend_reply
from bot.similar.service import SimilarService
from bot.similar.week import AHEAD, BEHIND, due, week_of
from storage import recommend as recommend_repo
from storage.db import Database

log = logging.getLogger(__name__)

DAYS = 7
PAPERS = 10
BATCH = 200  # members per query of those due
STALE = dt.timedelta(seconds=30)  # a 'sending' row older than this is not a live send's


def weekly_key(row_id: int) -> str:
    return f"rec:{row_id}"


@dataclass(slots=True)
class WeeklyRecommendations:
    """Sends the week's message to every opted-in member whose id starts with `prefix`."""

    db: Database
    outbound: Outbound
    clock: Clock = system_clock
    prefix: str = ""
    resend_window: dt.timedelta = dt.timedelta(seconds=120)
    limiter: AbstractAsyncContextManager[Any] | None = None

    async def send_due(self) -> int:
        """Send this week's message to the members whose Monday morning came and who have not had
        it; how many were sent."""
        now = self.clock()
        current = {week_of(now - BEHIND), week_of(now + AHEAD)}
        sent = 0
        for row in await recommend_repo.weekly_sends(self.db, status="retry"):
            if row.user_id.startswith(self.prefix) and row.week in current and await recommend_repo.finish_week(
                    self.db, row.id, "sending", now=now, expect=("retry",)):
                sent += await self._send(row.id, row.user_id, now.date())
        while members := await recommend_repo.weekly_due(self.db, self.prefix, now, BATCH):
            for member in members:
                when = due(member, now)
                row_id = None
                if when.week is not None:  # None from the claim: this week's went out already (or is going)
                    row_id = await recommend_repo.claim_week(self.db, member.user_id, when.week, now=now)
                await recommend_repo.set_next(self.db, member.user_id, when.next_at)
                if row_id is not None:
                    sent += await self._send(row_id, member.user_id, when.local_day)
        return sent

    async def recover(self) -> int:
        """Settle the rows a crash left 'sending'; how many were sent again."""
        now = self.clock()
        sent = 0
        for row in await recommend_repo.weekly_sends(self.db, status="sending"):
            if not row.user_id.startswith(self.prefix) or now - row.updated_at < STALE:
                continue
            if now - row.updated_at <= self.resend_window:
                sent += await self._send(row.id, row.user_id, now.date())
            else:
                await recommend_repo.finish_week(
                    self.db, row.id, "unknown", now=now,
                    reason="interrupted while sending: it may or may not have arrived (not re-sent: never twice)")
        return sent

    async def _send(self, row_id: int, user_id: str, today: dt.date) -> int:
        now = self.clock()
        service = SimilarService(self.db)
        try:
            found = await service.recommend(user_id, today=today, days=DAYS, limit=PAPERS)
        except Exception:  # noqa: BLE001 - one member's failure must not stop the others
            log.exception("weekly recommendations for %s failed", user_id)
            await recommend_repo.finish_week(self.db, row_id, "retry", now=now, reason="could not be made")
            return 0
        if not found.matches:
            await recommend_repo.finish_week(self.db, row_id, "empty", now=now,
                                             reason="nothing this week like their papers: not sent")
            return 0
        reply = recommend_reply(found, weekly=True, direct=True)
        try:
            async with self.limiter if self.limiter is not None else nullcontext():
                await self.outbound.send_direct(user_id, reply, key=weekly_key(row_id))
        except RecipientUnreachable as exc:
            await recommend_repo.finish_week(self.db, row_id, "failed", now=self.clock(), reason=str(exc)[:200])
            return 0
        except SendError as exc:
            await recommend_repo.finish_week(self.db, row_id, "retry", now=self.clock(), reason=str(exc)[:200])
            return 0
        await recommend_repo.finish_week(self.db, row_id, "sent", now=self.clock(), papers=len(found.matches))
        return 1
