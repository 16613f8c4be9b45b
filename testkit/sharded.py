"""Several `paperboy run` processes, each running a range of Discord shards, against one Discord
fake and one database (a SQLite file or a PostgreSQL database): the daily post to every server,
optionally with one process SIGKILLed in the middle of its fan-out and started again. Shared by
the end-to-end test (tests/e2e/test_sharded_processes.py) and `python -m bench sharded-posting`.

    run = await sharded_fan_out(tmp_path, "postgresql://…", servers=300, ranges=("0-2", "3-5", "6-8"),
                                count=9, kill=(1, 40))
    assert run.ok and run.max_in_1s <= 50

Each process talks to the fake through its own port (`DiscordFake.endpoint`), so every request
is known by the process that made it, and writes each request's time as it leaves
(testkit/send_stamps): the most requests in any second is counted on those, the processes' own
doing; the fake's arrival stamps are reported beside them (`received_max_in_1s`), and run higher
when the fake, a process on the same busy CPUs, waits its turn and reads queued requests at once.

The schedules are due when the processes start but the day's digest is not in yet: once every
shard is connected (and the commands registered), the digest is loaded from outside, as
`paperboy ingest` would, and each process's sweep finds its servers' posts due at once, so their
fan-outs overlap as much as they can.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import fnmatch
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.chat.shards import ShardSet, parse_ids
from storage import guilds as guild_repo
from storage import posts as post_repo
from storage.address import is_postgres
from storage.backends import open_database
from storage.guilds import GuildSchedule
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from testkit.bot_process import BotProcess, send_stamps
from testkit.discord_fake import DiscordFake, FakeChannel, RecordedRequest

PAPERS = [PaperRecord(f"Sharded diffusion {i}", f"We study sharding for problem {i}.", f"2602.{i:05d}")
          for i in range(1, 7)]
STARTED_WITHIN = 60.0
SETTLED_WITHIN = 120.0
COMMANDS = "/applications/*/commands"


@dataclass
class ShardedRun:
    """What the processes did, as the fake and the post log saw it."""

    servers: int
    processes: int
    lost: int  # servers without a post, or whose day is not logged 'sent'
    duplicated: int  # posts beyond the first in a server's channel
    misplaced: int  # posts made by a process that does not own the server's shard
    registrations: list[str]  # the processes (endpoint names) that registered the commands
    max_in_1s: int  # the most requests, over all processes, in any one second of the whole run, as sent
    received_max_in_1s: int  # the same as the fake stamped them on arrival (bunched when it waited for a CPU)
    sent: int  # requests the processes sent (their own stamps); `requests` is what the fake received
    fan_out_max_in_1s: int  # the same, from the digest's load to the last post
    fan_out_s: float  # from the digest's load to the last post's request
    connect_s: float  # from starting the processes to every shard connected
    requests: int
    kills: int
    statuses: dict[str, int] = field(default_factory=dict)
    per_process: dict[str, int] = field(default_factory=dict)  # channels each process posted in

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.misplaced == 0 and len(self.registrations) == 1


def _max_in(stamps: Sequence[float], window: float) -> int:
    """The most stamps (sorted) within any `window` seconds."""
    return max((bisect.bisect_left(stamps, t + window) - i for i, t in enumerate(stamps)), default=0)


def _created_post(request: RecordedRequest) -> bool:
    return request.method == "POST" and fnmatch.fnmatchcase(request.path, "/channels/*/messages") and \
        request.status == 200


async def _prepare(address: str, channels: Sequence[FakeChannel], at: dt.time, created: dt.datetime) -> None:
    async with await open_database(address) as db:
        for channel in channels:
            await guild_repo.save_schedule(db, GuildSchedule(f"discord:{channel.guild_id}", f"discord:{channel.id}",
                                                             at, "UTC", thread=False), now=created)


async def _load_digest(address: str, now: dt.datetime) -> None:
    async with await open_database(address) as db:
        await Loader(db).load(ParsedDigest("hf-daily", now.date(), "hf-api", PAPERS), now=now)


async def _post_statuses(address: str) -> dict[str, int]:
    async with await open_database(address) as db:
        return dict(Counter(p.status for p in await post_repo.list_posts(db)))


async def _until(what: str, check: object, processes: Sequence[BotProcess], within: float,
                 every: float = 0.05) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        done = await check() if asyncio.iscoroutinefunction(check) else check()  # type: ignore[operator]
        if done:
            return
        for bot in processes:
            if not bot.alive() and bot.kills < bot.starts:
                raise AssertionError(f"a bot exited while waiting for {what}: {bot.log[-3000:]}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(every)


async def sharded_fan_out(folder: Path, address: str | None = None, *, servers: int = 300,
                          ranges: Sequence[str | None] = ("0-2", "3-5", "6-8"), count: int = 9,
                          kill: tuple[int, int] | None = None, rate: float = 45.0, burst: int = 5) -> ShardedRun:
    """Run `len(ranges)` processes (a range of None: the default, every shard in one process) on
    `address` (default: a SQLite file in `folder`) and `servers` servers spread evenly over
    `count` shards; `kill=(i, n)` SIGKILLs process i as the fake makes its n-th post, and starts
    it again. Returns what happened; raises AssertionError when a process fails."""
    address = address or str(folder / "bot.db")
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    async with DiscordFake() as fake:
        channels = []
        for i in range(servers):
            guild = fake.add_guild(f"Lab {i}", shard=(i % count, count))
            channels.append(fake.add_text_channel(guild, "papers"))
        await _prepare(address, channels, now.time(), now - dt.timedelta(minutes=10))
        owners = [ShardSet(parse_ids([r]), count) if r else ShardSet() for r in ranges]
        bots = []
        for i, shards in enumerate(ranges):
            endpoint = await fake.endpoint(f"p{i}")
            env = {"PAPERBOY_DISCORD_API_BASE": endpoint.api_base, "PAPERBOY_DISCORD_GATEWAY_URL": endpoint.gateway_url,
                   "PAPERBOY_DISCORD_IDENTIFY_INTERVAL_SECONDS": "0.1", "PAPERBOY_SCHEDULE_SWEEP_SECONDS": "1",
                   "PAPERBOY_SCHEDULE_BURST": str(burst)}
            if shards:
                env |= {"PAPERBOY_DISCORD_SHARD_IDS": shards, "PAPERBOY_DISCORD_SHARD_COUNT": str(count)}
            env |= ({"PAPERBOY_DATABASE_URL": address} if is_postgres(address) else
                    {"PAPERBOY_DATABASE_PATH": address})
            (folder / f"p{i}").mkdir(parents=True, exist_ok=True)
            # The bots yield to the fake, which stands in for Discord's servers: a fake kept waiting
            # for a CPU would stamp the requests that queued meanwhile as arriving together.
            bots.append(BotProcess(folder / f"p{i}", fake, rate=rate, nice=10, send_stamps=folder / f"p{i}.sent",
                                   **env))
        connected = {(s, count) for s in range(count)} if any(ranges) else None
        started = asyncio.get_running_loop().time()
        try:
            await asyncio.gather(*(bot.start() for bot in bots))
            await _until("every shard connected and the commands registered",
                         lambda: bool(fake.registered_commands()) and (
                             connected is None and bool(fake.gateway.connected_shards)
                             or connected is not None and connected <= fake.gateway.connected_shards),
                         bots, STARTED_WITHIN)
            connect_s = asyncio.get_running_loop().time() - started
            start_index = len(fake.requests)
            if kill is not None:
                victim, at = kill
                name = f"p{victim}"
                bots[victim].kill_at_request(lambda r: _created_post(r) and r.client == name, at)
            await _load_digest(address, now)
            loaded = asyncio.get_running_loop().time()
            if kill is not None:
                await bots[kill[0]].killed(SETTLED_WITHIN)
                await bots[kill[0]].start()

            # The fake's messages first (cheap), the post log once they are all there: the fake
            # shares this event loop, and reading the log while the fan-out runs would stall it,
            # bunching the requests it time-stamps.
            posted = {c.id for c in channels}
            await _until("a post in every server's channel",
                         lambda: posted <= {m.channel_id for m in fake.messages.values() if m.source == "channel"},
                         bots, SETTLED_WITHIN, every=0.2)
            async with await open_database(address) as watch:
                async def settled() -> bool:
                    return len(await post_repo.posts_in_status(watch, ["sent"])) >= servers

                await _until("every server's post logged as sent", settled, bots, SETTLED_WITHIN, every=0.2)
            for bot in bots:
                await bot.stop()
        finally:
            for bot in bots:
                await bot.close()
        statuses = await _post_statuses(address)
        posts = [r for r in fake.requests if _created_post(r)]
        fan_out = fake.requests[start_index:]
        by_channel = {c.id: c for c in channels}
        lost = duplicated = misplaced = 0
        in_channel = Counter(m.channel_id for m in fake.messages.values() if m.source == "channel" and not m.deleted)
        for channel in channels:
            lost += not in_channel[channel.id]
            duplicated += max(in_channel[channel.id] - 1, 0)
        for request in posts:
            channel = by_channel.get(int(request.path.split("/")[2]))
            if channel is None or request.response is None:
                continue
            owner = next(i for i, s in enumerate(owners) if s.owns(f"discord:{channel.guild_id}"))
            misplaced += request.client != f"p{owner}"
        lost += servers - statuses.get("sent", 0)
        sent_at = sorted(t for i in range(len(ranges)) for t in send_stamps(folder / f"p{i}.sent"))
        last = max((r.at for r in posts), default=loaded)
        return ShardedRun(
            servers=servers, processes=len(ranges), lost=lost, duplicated=duplicated, misplaced=misplaced,
            registrations=[r.client for r in fake.requests_to("PUT", COMMANDS)],
            max_in_1s=_max_in(sent_at, 1.0), received_max_in_1s=fake.max_requests_in(1.0), sent=len(sent_at),
            fan_out_max_in_1s=fake.max_requests_in(1.0, fan_out),
            fan_out_s=last - loaded, connect_s=connect_s, requests=len(fake.requests), kills=sum(b.kills for b in bots),
            # Channels each process posted in: a send repeated with its nonce after an unknown
            # outcome (a timeout on a busy machine) is answered with the same message, not a new post.
            statuses=statuses, per_process=dict(Counter(client for client, _ in {(r.client, r.path) for r in posts})))
