"""Serving the archive: `paperboy web` as a process, `paperboy run` with `[web] enabled` against the
Discord fake, a port already taken, and the links Discord cards and daily posts carry with
`[web] public_url`."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import aiohttp

from bot.app import App
from bot.commands import dispatch
from bot.config import Settings
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from testkit.bot_process import environment
from testkit.discord_fake import DiscordFake
from testkit.discord_fake.fixtures import bounded, make_world
from tests.bot.web.conftest import open_archive

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
    env.update(PYTHONPATH=str(ROOT), PAPERBOY_DATABASE_PATH=str(tmp_path / "web.db"),
               PAPERBOY_LOG_FILE=str(tmp_path / "paperboy.log"))
    return env


async def _cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=tmp_path,
                                                   env=_env(tmp_path), stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_paperboy_web_serves_until_sigterm(tmp_path: Path) -> None:
    status, _, err = await _cli(tmp_path, "ingest", str(SAMPLE_DIGEST), "--date", SAMPLE_DATE.isoformat())
    assert status == 0, err
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "web", "--port", "0", cwd=tmp_path, env=_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
        assert line.startswith("Serving the archive at http://127.0.0.1:"), line
        url = line.split(" at ", 1)[1].split("/ ", 1)[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/healthz") as response:
                assert response.status == 200 and (await response.json())["status"] == "ok"
            async with session.get(url + "/") as response:
                assert response.status == 200 and "hf-daily · Tue 9 Sep 2025" in await response.text()
        process.send_signal(signal.SIGTERM)
        _, err_bytes = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err_bytes.decode()
    assert "Traceback" not in err_bytes.decode()


async def test_a_port_already_taken_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out, err = await _cli(tmp_path, "web", "--port", str(port))
    assert status == 1
    assert err.startswith(f"paperboy: the web archive cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1 and "Traceback" not in err


async def test_paperboy_web_refuses_while_a_restore_runs(tmp_path: Path) -> None:
    from storage.instance_lock import exclusive

    status, _, err = await _cli(tmp_path, "stats")
    assert status == 0, err
    with exclusive(tmp_path / "web.db"):  # what `paperboy restore` holds while it copies a backup in
        status, out, err = await _cli(tmp_path, "web", "--port", "0")
    assert status == 1 and err.endswith("a restore is replacing this database; try again when it has finished\n")
    assert not out


async def test_bad_host_and_port_are_usage_errors(tmp_path: Path) -> None:
    status, _, err = await _cli(tmp_path, "web", "--port", "70000")
    assert status == 2 and "'70000' is not a TCP port" in err
    status, _, err = await _cli(tmp_path, "web", "--host", "http://example.org")
    assert status == 2 and "--host 'http://example.org' is not a host name or IP address" in err


@bounded
async def test_paperboy_run_serves_the_archive_when_web_is_enabled(tmp_path: Path) -> None:
    port = _free_port()
    async with DiscordFake() as fake:
        world = make_world(fake)
        env = {**environment(tmp_path, fake, fake.token), "PAPERBOY_WEB_ENABLED": "true",
               "PAPERBOY_WEB_PORT": str(port)}
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE)
        try:
            log_file = tmp_path / "paperboy.log"
            await fake.wait_until(lambda: fake.registered_commands() and log_file.exists()
                                  and "connected to Discord" in log_file.read_text(encoding="utf-8"), timeout=20,
                                  what="the bot to become ready")
            assert f"web archive at http://127.0.0.1:{port}" in log_file.read_text(encoding="utf-8")
            handle = await fake.slash("help", guild=world.guild, channel=world.channel, user=world.member)
            assert (await handle.original_response()).embeds
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    text = await response.text()
                async with session.get(f"http://127.0.0.1:{port}/") as response:
                    assert response.status == 200 and "No digest yet" in await response.text()
            assert 'paperboy_interaction_latency_seconds_count{kind="command"} 1' in text
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), timeout=15)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()


async def test_discord_cards_and_daily_posts_link_to_the_pages_with_a_public_url(tmp_path: Path) -> None:
    settings = Settings()
    settings.web.public_url = "https://papers.example.org"
    app = await open_archive(tmp_path, settings)
    try:
        member = app.context("console:alice", guild_id="console:lab", channel_id="console:general")
        card = (await dispatch("paper", {"title": "2509.00001"}, member)).cards[0]
        links = next(f.value for f in card.fields if f.name == "Links")
        assert "[archive page](https://papers.example.org/papers/2509.00001)" in links
        post = await dispatch("digest", {"date": "2025-09-09"}, member)
        assert post.cards[0].url == "https://papers.example.org/digests/2025-09-09?source=hf-daily"
        assert "[archive page](https://papers.example.org/papers/" in post.cards[1].description
    finally:
        await app.close()
    plain = await open_archive(tmp_path / "plain")
    try:
        member = plain.context("console:alice", guild_id="console:lab", channel_id="console:general")
        card = (await dispatch("paper", {"title": "2509.00001"}, member)).cards[0]
        assert "archive page" not in str(card.fields)
        assert (await dispatch("digest", {"date": "2025-09-09"}, member)).cards[0].url is None
    finally:
        await plain.close()


async def test_the_app_serves_and_stops_with_its_server(tmp_path: Path) -> None:
    app: App = await open_archive(tmp_path)
    url = await app.start_web("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session, session.get(url + "/digests/2025-09-10") as response:
        assert response.status == 200
    await app.close()
    async with aiohttp.ClientSession() as session:
        try:
            await session.get(url + "/healthz")
            raise AssertionError("still serving after close")
        except aiohttp.ClientConnectionError:
            pass


async def test_paperboy_web_serves_with_the_archives_switch_interval_and_restores_it(tmp_path: Path) -> None:
    from bot.cli.web import _serve
    from bot.processes.tuning import SWITCH_INTERVAL, WEB_SWITCH_INTERVAL

    settings = Settings()
    settings.database.path = str(tmp_path / "paperboy.db")
    before = sys.getswitchinterval()
    stop = asyncio.Event()
    serving = asyncio.create_task(_serve(settings, "127.0.0.1", _free_port(), stop))
    try:
        async with asyncio.timeout(30):
            while sys.getswitchinterval() == before:  # noqa: ASYNC110 - set by the serving task, no event to wait on
                await asyncio.sleep(0.01)
        assert sys.getswitchinterval() == WEB_SWITCH_INTERVAL < SWITCH_INTERVAL
    finally:
        stop.set()
        await asyncio.wait_for(serving, timeout=30)
    assert sys.getswitchinterval() == before
