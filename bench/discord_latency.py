"""Discord interaction latency: autocomplete and command acknowledgement through the loopback fake.

The production client (`PaperboyClient` + `App`, real discord.py 2.7) runs against
testkit/discord_fake on a copy of the corpus database. `--interactions` interactions per kind are
dispatched, `--concurrency` at a time; latency is what Discord would see: from the fake sending
INTERACTION_CREATE to the bot's first callback (the autocomplete choices, or the reply or the
"thinking…" deferral of a command; the "reply" columns: until the answer itself). Kinds: /paper
title autocomplete (prefixes of real titles), /search and /paper commands, and, as the baseline,
autocomplete of an unknown command (the bot answers [] without touching the archive: the transport's own round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import logging
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import OUT, BenchError, Row
from bench.corpus import sample_titles
from bench.search import _database, _percentile
from bot.app import App
from bot.config import Settings
from bot.schedule.clock import ManualClock
from bot.transports.discord_bot import PaperboyClient, Timing
from testkit.bot_process import BotProcess
from testkit.discord_fake import DiscordFake, InteractionHandle
from testkit.discord_fake.fixtures import World, make_world, running_client

NAME = "discord-latency"
DESCRIPTION = "autocomplete and command acknowledgement p50/p99 through the Discord fake (200 at 20 at a time)"
TARGET_P99_MS = 250.0
QUERIES = ["diffusion", "language models", "reinforcement learning", "graph neural", "quantization",
           "vision transformer", "retrieval augmented", "protein", "speech", "robot"]

Dispatch = Callable[[DiscordFake, int], Any]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000, 1_000_000])
    parser.add_argument("--interactions", type=int, default=200, help="interactions per kind (default 200)")
    parser.add_argument("--concurrency", type=int, default=20, help="interactions in flight at once (default 20)")
    parser.add_argument("--bot-process", action="store_true",
                        help="also measure `paperboy run` in its own process (as deployed; the fake stays here)")


def _copy(size: int, seed: int) -> Path:
    """A private copy of the corpus database: the bot migrates it and keeps its title index there."""
    target = OUT / f"discord-latency-{size}-s{seed}.db"
    if not target.exists():
        # The search bench's Loader-built database when it is there (building the `paperboy ingest`
        # one takes minutes at 1M); otherwise whichever the search bench would use.
        fallback = OUT / f"search-fallback-{size}-s{seed}.db"
        source = fallback if fallback.exists() else _database(size, seed)
        building = OUT / f"building-{target.name}"
        shutil.copyfile(source, building)
        building.replace(target)
    return target


async def _measure(path: Path, size: int, count: int, concurrency: int) -> list[Row]:
    """The bot in this process (one GIL shared with the fake: its CPU counts in every figure)."""
    settings = Settings()
    settings.database.path = str(path)
    settings.fetch.enabled = False
    async with DiscordFake() as fake:
        world = make_world(fake)
        client = PaperboyClient(settings, sync=False, start_jobs=False, timing=Timing(), guild_ready_timeout=0.05)
        app = await App.open(settings, client.outbound, clock=ManualClock(dt.datetime.now(dt.UTC)),
                             platform="discord")
        client.attach(app)
        try:
            async with running_client(fake, client, ready_timeout=60):
                return await _measure_kinds(fake, world, f"{size:,}", count, concurrency)
        finally:
            await app.close()


async def _measure_process(path: Path, size: int, count: int, concurrency: int) -> list[Row]:
    """`paperboy run` in its own process, as deployed: Discord's work (the fake) is not on its GIL."""
    folder = OUT / "discord-latency-process"
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "paperboy.log"
    log.unlink(missing_ok=True)
    # The fake (here) stamps every latency, so a full collection of the in-process run's leftovers
    # in the middle of the autocompletes would count against every one in flight: collected now
    # and the survivors frozen, as the client does.
    gc.collect()
    gc.freeze()
    async with DiscordFake() as fake:
        world = make_world(fake)
        bot = BotProcess(folder, fake, PAPERBOY_DATABASE_PATH=str(path))
        try:
            await bot.start()
            await fake.wait_until(lambda: bool(fake.registered_commands()) and log.exists()
                                  and "connected to Discord" in log.read_text(encoding="utf-8"),
                                  timeout=180, what="paperboy run to connect")
            rows = await _measure_kinds(fake, world, f"{size:,} (bot process)", count, concurrency)
            await bot.stop()
            return rows
        finally:
            await bot.close()
            gc.unfreeze()


async def _measure_kinds(fake: DiscordFake, world: World, label: str, count: int, concurrency: int) -> list[Row]:
    titles = sample_titles()
    prefixes = [t[: 4 + i % 12].casefold() for i, t in enumerate(titles)]
    kinds: list[tuple[str, Dispatch]] = [
        ("baseline: autocomplete answered [] (transport only)", lambda f, i: f.autocomplete(
            "nosuch", {"x": "a"}, focused="x", guild=world.guild, user=world.member)),
        ("/paper title autocomplete", lambda f, i: f.autocomplete(
            "paper", {"title": prefixes[i % len(prefixes)]}, focused="title", guild=world.guild,
            user=world.member)),
        ("/search command acknowledged", lambda f, i: f.slash(
            "search", {"query": QUERIES[i % len(QUERIES)]}, guild=world.guild, channel=world.channel,
            user=world.member)),
        ("/paper command acknowledged", lambda f, i: f.slash(
            "paper", {"title": titles[i % len(titles)][:60]}, guild=world.guild, channel=world.channel,
            user=world.member)),
    ]
    # Warm up, as a bot that has been running a while is: the page cache, the title index, and
    # search's per-index-state look-ups (prefix expansions, idf estimates; not results).
    for _, dispatch in kinds[1:]:
        await _run(fake, dispatch, 20, concurrency)
    rows: list[Row] = []
    base_p99 = None
    for kind, dispatch in kinds:
        samples, replies, deferred, failed = await _run(fake, dispatch, count, concurrency)
        p99 = _percentile(samples, 99)
        base_p99 = base_p99 or p99
        rows.append(Row(NAME, f"{label} {kind}", {
            "n": len(samples), "p50 ms": statistics.median(samples), "p99 ms": p99,
            "max ms": max(samples), "deferred": deferred, "failed": failed,
            "reply p50 ms": statistics.median(replies) if replies else None,
            "reply p99 ms": _percentile(replies, 99) if replies else None,
            "p99 / baseline p99": p99 / base_p99 if base_p99 else None,
            f"p99 <= {TARGET_P99_MS:.0f} ms": p99 <= TARGET_P99_MS,
        }))
    return rows


async def _run(fake: DiscordFake, dispatch: Dispatch, count: int,
               concurrency: int) -> tuple[list[float], list[float], int, int]:
    """(acknowledgement ms, complete-reply ms for commands, deferred, failed) of `count` interactions."""
    gate = asyncio.Semaphore(concurrency)
    samples: list[float] = []
    replies: list[float] = []
    deferred = failed = 0

    async def one(i: int) -> None:
        nonlocal deferred, failed
        async with gate:
            handle: InteractionHandle = await dispatch(fake, i)
            first = await handle.response(timeout=30)
            samples.append(first.at * 1000)
            deferred += first.callback_type == 5
            failed += not first.ok
            if handle.type == 2 and first.ok:
                await handle.original_response(timeout=30)
                replies.append(max(a.at for a in handle.attempts if a.ok) * 1000)

    await asyncio.gather(*(one(i) for i in range(count)))
    return samples, replies, deferred, failed


def run(args: argparse.Namespace) -> list[Row]:
    logging.getLogger("discord").setLevel(logging.ERROR)
    rows: list[Row] = []
    for size in args.sizes:
        try:
            path = _copy(size, args.seed)
        except OSError as exc:
            raise BenchError(f"cannot copy the {size:,}-paper database: {exc}") from exc
        rows += asyncio.run(_measure(path, size, args.interactions, args.concurrency))
        if args.bot_process:
            rows += asyncio.run(_measure_process(path, size, args.interactions, args.concurrency))
    return rows
