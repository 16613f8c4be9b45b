"""When each server's daily post is due: pure functions of the settings, the instant, the digests
in the archive and the post log. No I/O and no clock: the caller passes `now`.

The rules (docs/daily-post.md, "When it goes out", says the same to users):

* A server's day D has one post, at its local post time on D (`wall_time`). It carries the digest
  dated D (or D-1 when the server chose `digest_day = yesterday`): the server's chosen source,
  else the largest digest of that date.
* Digest in at the post time: post then. Not in yet: post as soon as it arrives, until the
  cut-off (`late_cutoff` after the post time, never past the end of the local day). Arrives
  after the cut-off: skipped. Never arrives: at the cut-off, a short note or nothing
  (`on_empty`), recorded either way.
* Downtime: a post whose moment passed while the bot was down is made up when the bot is back
  within `grace` of that moment; later than that it is skipped and recorded as skipped.
* Days before the schedule was created or last resumed are not owed.
* Daylight saving: a post time that does not exist on a spring-forward day (02:30 in Berlin on
  the last Sunday of March) is due when the clock jumps over it (03:00 local); a post time that
  happens twice on a fall-back day is due the first time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.chat.outbound import SendError
from storage.guilds import GuildSchedule
from storage.posts import PostRecord
from storage.records import DigestInfo

# A post sent this long after its moment counts as "made up" in reports (not merely a slow tick).
MADE_UP_AFTER = dt.timedelta(minutes=2)
# Discord accepts a message nonce of at most 25 characters.
KEY_LENGTH = 25

DigestKey = tuple[dt.date, str | None]  # (digest date, source or None for "the largest")


@dataclass(frozen=True, slots=True)
class Policy:
    late_cutoff: dt.timedelta = dt.timedelta(hours=12)
    grace: dt.timedelta = dt.timedelta(hours=6)
    resend_window: dt.timedelta = dt.timedelta(minutes=2)  # how long the transport dedupes a key
    retry_attempts: int = 5
    retry_base: dt.timedelta = dt.timedelta(minutes=1)
    retry_max: dt.timedelta = dt.timedelta(minutes=30)
    lookback: dt.timedelta = dt.timedelta(days=7)  # how far back missed days are recorded


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about one server's day. `action` is "post" or "skip"; `kind` what the post is:
    "digest", "note" (no digest today) or "none" (nothing to post)."""

    schedule: GuildSchedule
    day: dt.date
    action: str
    kind: str
    due_at: dt.datetime
    digest: DigestInfo | None = None
    reason: str | None = None
    made_up: bool = False

    @property
    def key(self) -> str:
        return post_key(self.schedule.guild_id, self.schedule.channel_id, self.digest, self.day, self.kind)


def post_key(guild_id: str, channel_id: str, digest: DigestInfo | None, day: dt.date, kind: str) -> str:
    """The idempotency key of a post (server, channel, digest), short enough to be a Discord nonce."""
    what = f"digest:{digest.id}" if digest is not None else f"{kind}:{day.isoformat()}"
    return hashlib.sha256(f"{guild_id}|{channel_id}|{what}".encode()).hexdigest()[:KEY_LENGTH]


def page_key(key: str, page: int) -> str:
    """The key of the `page`-th message in a post's thread."""
    return hashlib.sha256(f"{key}|page:{page}".encode()).hexdigest()[:KEY_LENGTH]


def wall_time(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The first instant (UTC) at which `zone`'s wall clock shows `at` on `day` or has jumped past it."""
    wanted = dt.datetime.combine(day, at)
    first = wanted.replace(tzinfo=zone).astimezone(dt.UTC)  # fold=0: the earlier of two, if twice
    if first.astimezone(zone).replace(tzinfo=None) == wanted:
        return first
    # `at` falls in a spring-forward gap: find the transition, the first instant whose wall time
    # is past `at`. It lies between the two readings of `at` (one per offset); wall time only
    # grows across a gap, so bisect in whole seconds.
    low = wanted.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    high = first
    while high - low > dt.timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= wanted:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0)


def local_day(moment: dt.datetime, zone: ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


def slot_time(schedule: GuildSchedule, day: dt.date) -> dt.datetime:
    return wall_time(day, schedule.post_time, ZoneInfo(schedule.timezone))


def deadline(schedule: GuildSchedule, day: dt.date, policy: Policy) -> dt.datetime:
    """Until when a late digest is still posted: `late_cutoff` after the post time, within the day."""
    zone = ZoneInfo(schedule.timezone)
    end_of_day = wall_time(day + dt.timedelta(days=1), dt.time(0, 0), zone)
    return min(slot_time(schedule, day) + policy.late_cutoff, end_of_day)


def digest_date(schedule: GuildSchedule, day: dt.date) -> dt.date:
    """The date of the digest that the post of local day `day` carries."""
    return day - dt.timedelta(days=1) if schedule.digest_day == "yesterday" else day


def days_to_consider(schedule: GuildSchedule, now: dt.datetime, policy: Policy) -> list[dt.date]:
    """The server's local days, oldest first, that may still need a decision at `now`."""
    zone = ZoneInfo(schedule.timezone)
    start = now - policy.lookback
    if schedule.active_since is not None:
        start = max(start, schedule.active_since)
    first, last = local_day(start, zone), local_day(now, zone)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def digest_keys(schedules: Iterable[GuildSchedule], now: dt.datetime, policy: Policy) -> set[DigestKey]:
    """The (date, source) digests that `decide` will look up."""
    return {(digest_date(s, day), s.source) for s in schedules if not s.paused
            for day in days_to_consider(s, now, policy)}


def _local(moment: dt.datetime, schedule: GuildSchedule) -> str:
    return moment.astimezone(ZoneInfo(schedule.timezone)).strftime("%Y-%m-%d %H:%M %Z")


def decide_day(schedule: GuildSchedule, day: dt.date, now: dt.datetime, digest: DigestInfo | None,
               policy: Policy) -> Decision | None:
    """The decision for a server's day with no row in the post log yet; None while it is not due."""
    slot = slot_time(schedule, day)
    if schedule.paused or now < slot:
        return None
    if schedule.active_since is not None and slot < schedule.active_since:
        return None  # the schedule did not exist (or was paused) at that day's post time
    cutoff = deadline(schedule, day, policy)

    def skip(kind: str, due: dt.datetime, reason: str) -> Decision:
        return Decision(schedule, day, "skip", kind, due, digest, reason)

    if digest is not None and digest.fetched_at > cutoff:
        return skip("digest", digest.fetched_at,
                    f"the digest arrived at {_local(digest.fetched_at, schedule)}, after the cut-off "
                    f"({_local(cutoff, schedule)})")
    if digest is not None:
        kind, due = "digest", max(slot, digest.fetched_at)
    elif now < cutoff:
        return None  # wait for the digest
    elif schedule.on_empty == "note":
        kind, due = "note", cutoff
    else:
        return skip("none", cutoff, f"no digest for {digest_date(schedule, day).isoformat()}")
    late = now - due
    if late > policy.grace:
        return skip(kind, due, f"missed: due at {_local(due, schedule)}, and not posted within the "
                               f"{_hours(policy.grace)} grace window (the bot was not running)")
    return Decision(schedule, day, "post", kind, due, digest, made_up=late > MADE_UP_AFTER)


def decide(schedules: Iterable[GuildSchedule], now: dt.datetime, digests: Mapping[DigestKey, DigestInfo | None],
           logged: Iterable[tuple[str, dt.date]], policy: Policy) -> list[Decision]:
    """Every post that is due and every day to record as skipped, oldest first per server.

    `digests` answers each of `digest_keys(...)`; `logged` holds the (server, day) pairs the post
    log already has (whatever their status), which are never decided again.
    """
    done = set(logged)
    out = []
    for schedule in schedules:
        for day in days_to_consider(schedule, now, policy):
            if (schedule.guild_id, day) in done:
                continue
            digest = digests.get((digest_date(schedule, day), schedule.source))
            decision = decide_day(schedule, day, now, digest, policy)
            if decision is not None:
                out.append(decision)
    return out


# -- rows already in the log ---------------------------------------------------------------------


def backoff(attempts: int, policy: Policy) -> dt.timedelta:
    """The wait before the next try after `attempts` failed ones: doubling, capped."""
    wait: dt.timedelta = policy.retry_base * (2 ** max(attempts - 1, 0))
    return min(wait, policy.retry_max)


@dataclass(frozen=True, slots=True)
class AfterFailure:
    retry_at: dt.datetime | None  # None: give up
    reason: str


def after_failure(record: PostRecord, error: SendError, now: dt.datetime, policy: Policy) -> AfterFailure:
    """Retry a temporary failure with backoff until the attempts run out; never retry a permanent one."""
    if error.permanent:
        return AfterFailure(None, f"cannot post: {error}")
    if record.attempts >= policy.retry_attempts:
        return AfterFailure(None, f"gave up after {record.attempts} attempts: {error}")
    return AfterFailure(now + backoff(record.attempts, policy), f"attempt {record.attempts} failed: {error}")


def retry_due(record: PostRecord, now: dt.datetime) -> bool:
    return record.status == "pending" and (record.next_attempt_at is None or record.next_attempt_at <= now)


def stale(record: PostRecord, now: dt.datetime, policy: Policy) -> bool:
    """A pending row older than the grace window (queued before a long downtime): skip it."""
    return record.status == "pending" and now - record.created_at > policy.grace


def recover(record: PostRecord, now: dt.datetime, policy: Policy) -> str:
    """What start-up does with a row a crash left in 'sending': "resume" or "unknown".

    Resuming is safe when the main message is known to exist (only thread pages remain), or when
    the crash is recent enough that re-sending with the same key makes the transport hand back the
    message it may already have created. Otherwise nobody can tell whether it went out: an
    operator decides (`paperboy posts --status unknown`), rather than risk a second post.
    """
    if record.message_id is not None:
        return "resume"
    if now - record.updated_at <= policy.resend_window:
        return "resume"
    return "unknown"


def _hours(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g}-hour"
