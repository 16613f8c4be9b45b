"""Crash scenarios: `paperboy run` killed with SIGKILL in the middle of a job, restarted, and what
the Discord fake received checked against the bot's logs. Shared by the tests in this folder
(small sizes) and `python -m bench resilience` (which prints their outcomes in its table).

Each scenario returns an `Outcome`: how many items (channel posts, notifications) should have
arrived exactly once, how many did not arrive or are not logged as sent (`lost`), and how many
arrived more than once (`duplicated`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import SubscriptionSettings
from bot.subscriptions.notify import notification_hook
from storage import guilds as guild_repo
from storage import subscriptions as sub_repo
from storage.backends import open_database
from storage.guilds import GuildSchedule
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from testkit.bot_process import BotProcess, integrity, query, statuses
from testkit.discord_fake import DiscordFake, FakeChannel, FakeUser, RecordedRequest

# A small digest: one post and one thread page per server, so a fan-out is mostly round trips.
PAPERS = [PaperRecord(f"Diffusion models for task {i}", f"We study diffusion for problem {i}.", f"2601.{i:05d}")
          for i in range(1, 7)]
RESTART_TIMEOUT = 25.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Outcome:
    scenario: str
    items: int  # what had to arrive exactly once
    arrived: int  # distinct items the fake received
    lost: int  # not received, or not logged as sent
    duplicated: int  # received more than once
    kills: int
    detail: str = ""
    resent: int = 0  # requests that repeated a key after the kill (Discord answered with the first message)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.arrived == self.items


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


async def _wait(what: str, check: Callable[[], bool], bot: BotProcess | None, within: float) -> None:
    """Poll `check` (it reads the fake or the database) while the bot works."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if bot is not None and not bot.alive():
            raise AssertionError(f"the bot exited while waiting for {what}: {bot.log[-2000:]}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def created_message(request: RecordedRequest) -> bool:
    """A request that made (or returned) a message in a channel, thread or DM."""
    return request.method == "POST" and request.path.endswith("/messages") and request.status == 200


async def kill_and_restart(bot: BotProcess, kill_at: int, what: str, finished: Callable[[], bool]) -> None:
    """Start the bot, SIGKILL it as the fake makes the `kill_at`-th message (before the bot hears
    back), start it again, wait until `finished()`, stop it."""
    try:
        bot.kill_at_request(created_message, kill_at)
        await bot.start()
        await bot.killed(20.0)
        await bot.start()
        await _wait(f"every one of the {what} settled", finished, bot, RESTART_TIMEOUT)
        await bot.stop()
    finally:
        await bot.close()


async def _prepare(path: Path, papers: list[PaperRecord], day: dt.date, *, subscribers: Sequence[str] = (),
                   schedules: Sequence[GuildSchedule] = ()) -> None:
    """The database as the bot finds it when it starts: schedules, subscriptions, today's digest."""
    now = now_utc()
    async with await open_database(path) as db:
        for schedule in schedules:
            await guild_repo.save_schedule(db, schedule, now=now - dt.timedelta(minutes=10))
        for user in subscribers:
            await sub_repo.add_subscription(db, user, "diffusion", "diffusion", limit=25)
        hook = notification_hook(SubscriptionSettings(), clock=now_utc)
        await Loader(db, after_load=[hook]).load(ParsedDigest("hf-daily", day, "hf-api", papers), now=now)


async def killed_fan_out(folder: Path, *, servers: int = 120, kill_after: int = 40, rate: float = 150.0) -> Outcome:
    """The daily post to `servers` channels (post + thread page each); SIGKILL once `kill_after`
    posts have arrived; restart; every channel must hold one post and its page, the log 'sent'."""
    async with DiscordFake() as fake:
        channels: list[FakeChannel] = []
        for i in range(servers):
            guild = fake.add_guild(f"Lab {i}")
            channels.append(fake.add_text_channel(guild, "papers"))
        now = now_utc()
        at = dt.time(now.hour, now.minute)
        await _prepare(folder / "bot.db", PAPERS, now.date(), schedules=[
            GuildSchedule(f"discord:{c.guild_id}", f"discord:{c.id}", at, "UTC", thread=True) for c in channels])
        bot = BotProcess(folder, fake, rate=rate)
        await kill_and_restart(bot, kill_after, "posts", lambda: statuses(bot.db, "posts").get("sent") == servers)
        lost = duplicated = arrived = 0
        for channel in channels:
            posts = fake.messages_in(channel)
            pages = [m for p in posts for m in fake.messages_in(p.id)]
            arrived += bool(posts) and bool(pages)
            lost += not posts or not pages
            duplicated += max(len(posts) - 1, 0) + max(len(pages) - 1, 0)
        log = statuses(bot.db, "posts")
        lost += servers - log.get("sent", 0)
        resent = keyed_resends(fake)
        detail = f"killed as message {kill_after} of {2 * servers} was made; log {log}; integrity {integrity(bot.db)}"
        return Outcome("daily post fan-out, SIGKILL mid-way", servers, arrived, lost, duplicated, bot.kills, detail,
                       resent)


def keyed_resends(fake: DiscordFake) -> int:
    """Create-message requests that repeated an earlier one's key (channel and nonce): retries
    after a 429, a 5xx, a lost response or a kill, which Discord answers with the first message."""
    seen: dict[tuple[str, str], int] = {}
    for r in fake.requests_to("POST", "/channels/*/messages"):
        if isinstance(r.json, dict) and r.json.get("nonce"):
            key = (r.path, str(r.json["nonce"]))
            seen[key] = seen.get(key, 0) + 1
    return sum(n - 1 for n in seen.values())


async def killed_notifications(folder: Path, *, users: int = 80, kill_after: int = 25,
                               rate: float = 100.0) -> Outcome:
    """Notifications by direct message to `users` subscribers; SIGKILL once `kill_after` arrived;
    restart; every subscriber must hold one direct message and the log say 'sent' for each."""
    async with DiscordFake() as fake:
        people: list[FakeUser] = [fake.add_user(f"reader{i}") for i in range(users)]
        await _prepare(folder / "bot.db", PAPERS, now_utc().date(), subscribers=[f"discord:{u.id}" for u in people])
        bot = BotProcess(folder, fake, rate=rate)
        await kill_and_restart(bot, kill_after, "notifications",
                               lambda: set(statuses(bot.db, "deliveries")) <= {"sent", "failed", "unknown"})
        received = [len(fake.dms_to(u)) for u in people]
        log = statuses(bot.db, "deliveries")
        lost = sum(1 for n in received if n == 0) + users - log.get("sent", 0)
        detail = f"killed as DM {kill_after} of {users} was made; log {log}; integrity {integrity(bot.db)}"
        return Outcome("notifications by DM, SIGKILL mid-way", users, sum(1 for n in received if n), lost,
                       sum(max(n - 1, 0) for n in received), bot.kills, detail, keyed_resends(fake))


def write_daily_digest(path: Path, papers: int) -> int:
    """A Hugging Face daily-papers API page of `papers` made-up papers (every third about
    diffusion); returns how many of them a "diffusion" subscriber should be told about."""
    words = ["attention", "graph", "robot", "protein", "speech", "sparse", "agents", "vision", "retrieval"]
    items = []
    for i in range(papers):
        topic = "diffusion" if i % 3 == 0 else words[i % len(words)]
        title = f"{topic.title()} {words[(i * 7) % len(words)]} study number {i}"
        abstract = f"We study {topic} and {words[(i * 5) % len(words)]} at scale; experiment {i}. " * 6
        items.append({"title": title, "publishedAt": "2026-01-05T00:00:00.000Z", "paper": {
            "id": f"2601.{i:05d}", "title": title, "summary": abstract, "upvotes": i % 50,
            "authors": [{"name": f"Author {i}"}, {"name": f"Author {i + 1}"}],
            "publishedAt": "2026-01-05T00:00:00.000Z"}})
    path.write_text(json.dumps(items), encoding="utf-8")
    return len(range(0, papers, 3))


def _ingest(db: Path, source: Path, day: dt.date, *, stop_marker: Path | None = None,
            stop_options: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """`paperboy ingest` in a child process; with `stop_marker`, one that stops just before its load
    commits, or with `stop_options` before a later commit (see `stop_before_commit`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
    env.update(PYTHONPATH=str(ROOT), PAPERBOY_LOG_FILE=str(db) + ".log", PAPERBOY_FETCH_ENABLED="false")
    entry = ["-m", "bot"] if stop_marker is None else [
        "-m", "testkit.faults.stop_before_commit", str(stop_marker), *stop_options]
    return subprocess.Popen([sys.executable, *entry, "--db", str(db), "ingest", str(source), "--date",
                             day.isoformat(), "--source", "hf-daily"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def killed_digest_load(folder: Path, *, papers: int = 10_000, subscribers: int = 20) -> Outcome:
    """`paperboy ingest` of a daily digest killed with every row of its transaction written, just
    before COMMIT (the worst moment); the same command again. The archive
    must hold every paper once, the digest every entry once, each subscriber one notification
    listing each matching paper once, and the database must pass `PRAGMA integrity_check`."""
    db, source = folder / "paperboy.db", folder / "digest.json"
    matching = write_daily_digest(source, papers)
    day = now_utc().date()
    users = [f"discord:{1000 + i}" for i in range(subscribers)]
    async with await open_database(db) as opened:
        for user in users:
            await sub_repo.add_subscription(opened, user, "diffusion", "diffusion", limit=25)
    marker = folder / "stopped-before-commit"
    process = _ingest(db, source, day, stop_marker=marker)
    await _wait("the load to reach its COMMIT", lambda: marker.exists() or process.poll() is not None, None, 60.0)
    interrupted = process.poll() is None and marker.exists()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.stderr is not None
    process.stderr.close()
    stored_at_kill = int(str(query(db, "SELECT COUNT(*) FROM papers")[0][0]))
    again = _ingest(db, source, day)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    [(stored, distinct)] = query(db, "SELECT COUNT(*), COUNT(DISTINCT arxiv_id) FROM papers")
    [(entries, listed)] = query(db, "SELECT COUNT(*), COUNT(DISTINCT paper_id) FROM digest_entries")
    notified = query(db, "SELECT d.user_id, COUNT(p.paper_id), COUNT(DISTINCT p.paper_id) FROM deliveries AS d"
                         " JOIN delivery_papers AS p ON p.delivery_id = d.id GROUP BY d.user_id")
    per_user = {str(u): (int(str(n)), int(str(k))) for u, n, k in notified}
    lost = (papers - int(str(distinct))) + (papers - int(str(listed))) + sum(
        1 for u in users if u not in per_user) + sum(matching - k for _, k in per_user.values())
    duplicated = (int(str(stored)) - int(str(distinct))) + (int(str(entries)) - int(str(listed))) + sum(
        n - k for n, k in per_user.values()) + max(len(notified) - subscribers, 0)
    return Outcome("digest load (paperboy ingest), SIGKILL mid-transaction", papers, int(str(distinct)), lost,
                   duplicated, 1, f"{'mid-load' if interrupted else 'after the load finished'}: {stored_at_kill} "
                   f"papers visible at the kill; {len(notified)} subscribers notified of {matching} papers each; "
                   f"integrity {integrity(db)}")


async def killed_queueing(folder: Path, *, users: int = 12, papers: int = 30, stop_at: int = 3) -> Outcome:
    """`paperboy ingest` of a daily digest for `users` subscribers (one per queueing transaction),
    killed just before the `stop_at`-th commit after the load's (1: matching had queued nothing,
    3: two users were queued); then `paperboy run` starts, resumes the digest's matching and sends.
    Every subscriber must get one direct message, and the log hold one notification each."""
    async with DiscordFake() as fake:
        people: list[FakeUser] = [fake.add_user(f"reader{i}") for i in range(users)]
        bot = BotProcess(folder, fake)
        source = folder / "digest.json"
        matching = write_daily_digest(source, papers)
        async with await open_database(bot.db) as opened:
            for person in people:
                await sub_repo.add_subscription(opened, f"discord:{person.id}", "diffusion", "diffusion", limit=25)
        marker = folder / "stopped-before-commit"
        process = _ingest(bot.db, source, now_utc().date(), stop_marker=marker,
                          stop_options=["--commit", str(stop_at + 1), "--batch-rows", str(matching)])
        await _wait("the queueing to reach its commit", lambda: marker.exists() or process.poll() is not None,
                    None, 60.0)
        stopped = process.poll() is None and marker.exists()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
        queued_at_kill = int(str(query(bot.db, "SELECT COUNT(*) FROM deliveries")[0][0]))
        pending_at_kill = int(str(query(bot.db, "SELECT COUNT(*) FROM pending_matches")[0][0]))
        try:
            await bot.start()
            await _wait("every notification sent", lambda: statuses(bot.db, "deliveries").get("sent") == users
                        and not query(bot.db, "SELECT 1 FROM pending_matches"), bot, RESTART_TIMEOUT)
            await bot.stop()
        finally:
            await bot.close()
        received = [len(fake.dms_to(u)) for u in people]
        per_user = query(bot.db, "SELECT user_id, COUNT(*) FROM deliveries GROUP BY user_id")
        log = statuses(bot.db, "deliveries")
        lost = sum(1 for n in received if n == 0) + users - log.get("sent", 0)
        duplicated = sum(max(n - 1, 0) for n in received) + sum(int(str(n)) - 1 for _, n in per_user)
        detail = (f"{'stopped' if stopped else 'not stopped'} before commit {stop_at} after the load: "
                  f"{queued_at_kill} queued, {pending_at_kill} digest awaiting matching at the kill; "
                  f"log {log}; integrity {integrity(bot.db)}")
        return Outcome("digest matching (paperboy ingest), SIGKILL between batches", users,
                       sum(1 for n in received if n), lost, duplicated, 1, detail)
