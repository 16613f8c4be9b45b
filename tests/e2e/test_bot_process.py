"""`paperboy run` as a real process against the fake: login, READY, commands, SIGTERM; token errors."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from testkit.bot_process import environment
from testkit.discord_fake import DiscordFake
from testkit.discord_fake.fixtures import bounded, make_world

pytestmark = pytest.mark.skipif(
    "run" not in build_parser()._subparsers._group_actions[0].choices,  # type: ignore[union-attr]
    reason="`paperboy run` is not registered in bot.cli.COMMAND_MODULES yet")


async def start(tmp_path: Path, fake: DiscordFake, token: str | None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environment(tmp_path, fake, token),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


@bounded
async def test_run_logs_in_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    async with DiscordFake() as fake:  # the real 3 s interaction deadline: the process starts cold
        world = make_world(fake)
        process = await start(tmp_path, fake, fake.token)
        try:
            log_file = tmp_path / "paperboy.log"
            await fake.wait_until(lambda: fake.registered_commands() and log_file.exists()
                                  and "connected to Discord" in log_file.read_text(encoding="utf-8"), timeout=8,
                                  what="the bot to register its commands and become ready")
            assert fake.gateway.identifies == 1
            handle = await fake.slash("help", guild=world.guild, channel=world.channel, user=world.member)
            assert (await handle.original_response()).embeds
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=8)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    log = (tmp_path / "paperboy.log").read_text(encoding="utf-8")
    assert "stopped; database closed" in log
    assert fake.token not in log and fake.token not in err.decode() and fake.token not in out.decode()
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize(("token", "status", "message"), [
    (None, 2, "DISCORD_TOKEN is not set"),
    ("not-the-token", 1, "Discord rejected the token"),
])
@bounded
async def test_token_problems_are_one_line_errors(tmp_path: Path, token: str | None, status: int,
                                                  message: str) -> None:
    async with DiscordFake() as fake:
        process = await start(tmp_path, fake, token)
        out, err = await asyncio.wait_for(process.communicate(), timeout=8)
    lines = err.decode().strip().splitlines()
    assert process.returncode == status and len(lines) == 1 and message in lines[0], lines
    assert "Traceback" not in err.decode() and not out
    if token:
        assert token not in err.decode() and token not in (tmp_path / "paperboy.log").read_text(encoding="utf-8")
