"""`paperboy run` when the Discord API cannot be reached (issue #12): one line, whatever the
background work was doing (here a digest fetch held open by a slow upstream)."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from tests.bot.sources.upstream import Reply, Upstream, upstream  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_failed_start_is_one_line_with_a_fetch_in_flight(tmp_path: Path, upstream: Upstream) -> None:  # noqa: F811
    upstream.serve("/api/daily_papers", Reply("[]", delay=3.0))  # the poll is mid-request when Discord fails
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
    env.update(PYTHONPATH=str(ROOT), PAPERBOY_DATABASE_PATH=str(tmp_path / "bot.db"),
               PAPERBOY_LOG_FILE=str(tmp_path / "paperboy.log"), DISCORD_TOKEN="abc.def.ghi",
               PAPERBOY_DISCORD_API_BASE=f"http://127.0.0.1:{_closed_port()}/api/v10",
               PAPERBOY_FETCH_ENABLED="true", PAPERBOY_FETCH_HF_BASE_URL=upstream.base,
               PAPERBOY_FETCH_WINDOW_START="00:00", PAPERBOY_FETCH_WINDOW_END="23:59")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    lines = err.decode().strip().splitlines()
    assert process.returncode == 1 and len(lines) == 1, lines
    assert lines[0].startswith("paperboy: the Discord connection failed: ClientConnectorError")
    log = (tmp_path / "paperboy.log").read_text(encoding="utf-8")
    assert "raised an exception" not in log and "Traceback" not in log and "stopped; database closed" in log
