"""Three real `paperboy run` processes, shards 0-2, 3-5 and 6-8 of 9, against one Discord fake
with 300 servers and one database (a SQLite file the three share, and PostgreSQL) (#16):

* every server gets exactly one daily post, made by the process that owns the server's shard;
* the slash commands are registered once, by the process holding shard 0;
* together they never send more than 50 requests in any one second (Discord's global limit per
  token), each keeping to its share of the rate. Counted as the processes send them (each writes
  its requests' times, testkit/send_stamps), every one of which the fake received: the fake's own
  arrival stamps bunch on a busy machine, when the fake waits for a CPU (59 in a second was seen
  at load 8, with the sends at 45), and are reported beside;
* SIGKILL one process in the middle of its fan-out and start it again: no post lost, none twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.bot_process import BotProcess
from testkit.discord_fake import DiscordFake
from testkit.sharded import sharded_fan_out

pytestmark = pytest.mark.both_backends

SERVERS = 300
RANGES = ("0-2", "3-5", "6-8")
DISCORD_LIMIT = 50


async def test_three_sharded_processes_post_every_server_once_under_the_global_limit(
        tmp_path: Path, db_address: str) -> None:
    run = await sharded_fan_out(tmp_path, db_address, servers=SERVERS, ranges=RANGES, count=9)
    assert (run.lost, run.duplicated, run.misplaced) == (0, 0, 0), run
    assert run.statuses == {"sent": SERVERS}, run
    assert run.per_process == {"p0": 102, "p1": 99, "p2": 99}, run  # server i is on shard i % 9
    assert run.registrations == ["p0"], run
    assert run.max_in_1s <= DISCORD_LIMIT and run.sent == run.requests, run


async def test_a_process_killed_mid_fan_out_and_restarted_loses_and_repeats_nothing(
        tmp_path: Path, db_address: str) -> None:
    run = await sharded_fan_out(tmp_path, db_address, servers=SERVERS, ranges=RANGES, count=9, kill=(1, 40))
    assert run.kills == 1, run
    assert (run.lost, run.duplicated, run.misplaced) == (0, 0, 0), run
    assert run.statuses == {"sent": SERVERS}, run
    assert run.registrations == ["p0"], run
    assert run.max_in_1s <= DISCORD_LIMIT and run.sent == run.requests, run


async def test_a_stop_while_shards_are_still_connecting_ends_the_process_cleanly(tmp_path: Path) -> None:
    """SIGTERM between two shards' IDENTIFYs: the process stops at once (discord.py would retry the
    next shard's connection every 5 s, forever), with exit status 0 and no traceback."""
    async with DiscordFake() as fake:
        bot = BotProcess(tmp_path, fake, PAPERBOY_DISCORD_SHARD_IDS="0-2", PAPERBOY_DISCORD_SHARD_COUNT="3",
                         PAPERBOY_DISCORD_IDENTIFY_INTERVAL_SECONDS="60")
        try:
            await bot.start()
            await fake.wait_until(lambda: fake.gateway.identified_shards == [(0, 3)], timeout=20,
                                  what="the first shard to identify")
            await bot.stop()  # within BotProcess.stop's 10 s, status 0, no traceback
        finally:
            await bot.close()
    assert fake.gateway.identified_shards == [(0, 3)]
    assert "Failed to connect" not in bot.log and "stopped; database closed" in bot.log


async def test_run_shards_options_connect_only_those_shards_and_leave_commands_to_shard_0(tmp_path: Path) -> None:
    """`paperboy run --shards 1 --shard-count 2`: IDENTIFY carries [1, 2], the process sees only
    the servers on shard 1, and registers no command (the process running shard 0 does)."""
    async with DiscordFake() as fake:
        fake.add_guild("on shard 1", shard=(1, 2))
        fake.add_guild("on shard 0", shard=(0, 2))
        bot = BotProcess(tmp_path, fake, args=["--shards", "1", "--shard-count", "2"])
        try:
            await bot.start()
            await fake.wait_until(lambda: "connected to Discord" in bot.log, timeout=20, what="the shard to be ready")
            await bot.stop()
        finally:
            await bot.close()
    assert fake.gateway.identified_shards == [(1, 2)]
    assert "in 1 servers (shards 1 of 2)" in bot.log and not fake.registered_commands()
    assert "slash commands are registered by the process running shard 0" in bot.log
