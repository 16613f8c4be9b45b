"""`paperboy run` as deploy/paperboy@.service runs it: the token from a systemd credential, the
log on standard error only, the database held against `paperboy restore`, SIGTERM a clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from storage.backup import backup, restore
from storage.errors import StorageError
from testkit.discord_fake import DiscordFake
from testkit.discord_fake.fixtures import bounded

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def _bot(env: dict[str, str], cwd: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`paperboy run` in its own process, killed if the test leaves before it ends."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=cwd, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@bounded
async def test_the_service_setup_runs_and_holds_its_database(tmp_path: Path) -> None:
    db = tmp_path / "state" / "paperboy.db"
    async with DiscordFake() as fake:
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "discord_token").write_text(fake.token + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
        env.update(PYTHONPATH=str(ROOT), CREDENTIALS_DIRECTORY=str(credentials), JOURNAL_STREAM="8:1",
                   PAPERBOY_DATABASE_PATH=str(db), PAPERBOY_LOGGING_DESTINATION="stderr",
                   PAPERBOY_DISCORD_SHARD_IDS="main", PAPERBOY_FETCH_ENABLED="false",
                   PAPERBOY_DISCORD_API_BASE=fake.api_base, PAPERBOY_DISCORD_GATEWAY_URL=fake.gateway_url)
        async with _bot(env, tmp_path) as process:
            await fake.wait_until(lambda: bool(fake.registered_commands()), timeout=8,
                                  what="the bot to log in with the credential and register its commands")
            copy = await asyncio.to_thread(backup, db, tmp_path / "live-copy.db")  # while it runs
            with pytest.raises(StorageError, match="in use by a running Paperboy"):
                await asyncio.to_thread(restore, copy.copy.path, db)
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=8)
    log = err.decode()
    assert process.returncode == 0, log
    assert "<6>INFO storage.sqlite.db: applied migration" in log and "stopped; database closed" in log
    assert fake.token not in log and fake.token not in out.decode()
    assert not list(tmp_path.rglob("*.log"))
