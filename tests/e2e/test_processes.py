"""Two `paperboy run` processes on one database (#16): both register in the process table, exactly
one fetches the digests (the one holding the fetch lease), and when that one is SIGKILLed the other
takes fetching over once the lease expires; `paperboy status` shows both, then the dead one as gone.

The lease is short here (`[processes] lease_seconds`, `heartbeat_seconds` through the environment)
so the takeover happens within the test; the sources' requests carry each process's `[fetch]
contact` in their User-Agent, which tells who fetched.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from storage import processes
from storage.address import is_postgres
from storage.db import Database
from testkit.bot_process import BotProcess
from testkit.discord_fake import DiscordFake
from tests.bot.sources.upstream import Upstream, hf_items, hf_page, upstream  # noqa: F401

pytestmark = pytest.mark.both_backends

HEARTBEAT, LEASE = 0.5, 3.0
WAIT = 60.0  # the longest any step may take on a loaded machine; never a measure of speed


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    for _ in range(int(WAIT / 0.1)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"waited {WAIT} s for {what}")


def settings_env(db_address: str, upstream: Upstream, contact: str) -> dict[str, str]:  # noqa: F811
    where = ({"PAPERBOY_DATABASE_URL": db_address} if is_postgres(db_address)
             else {"PAPERBOY_DATABASE_PATH": db_address})
    return {**where, "PAPERBOY_FETCH_ENABLED": "true", "PAPERBOY_FETCH_HF_BASE_URL": upstream.url(),
            "PAPERBOY_FETCH_INTERVAL_MINUTES": "0.01", "PAPERBOY_FETCH_RECHECK_MINUTES": "0.01",
            "PAPERBOY_FETCH_REQUEST_INTERVAL_SECONDS": "0", "PAPERBOY_FETCH_RETRIES": "0",
            "PAPERBOY_FETCH_CONTACT": contact, "PAPERBOY_PROCESSES_HEARTBEAT_SECONDS": str(HEARTBEAT),
            "PAPERBOY_PROCESSES_LEASE_SECONDS": str(LEASE)}


def fetched_by(upstream: Upstream, contact: str) -> int:  # noqa: F811
    return sum(1 for r in upstream.requests if contact in r.headers.get("User-Agent", ""))


async def status(bot: BotProcess) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "status", "--json", cwd=bot.folder, env=bot.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await child.communicate()
    assert child.returncode in (0, 1), err.decode()  # 1: something needs attention (not here our concern)
    return json.loads(out)  # type: ignore[no-any-return]


async def test_the_fetch_lease_passes_to_the_survivor_of_a_sigkill(
        tmp_path: Path, db_address: str, db: Database, upstream: Upstream) -> None:  # noqa: F811
    upstream.serve("/api/daily_papers", hf_page(hf_items()))
    async with DiscordFake() as fake:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a = BotProcess(tmp_path / "a", fake, **settings_env(db_address, upstream, "process-a"))
        b = BotProcess(tmp_path / "b", fake, **settings_env(db_address, upstream, "process-b"))
        try:
            await a.start()

            async def holder(name: str) -> int | None:
                leases = {lease.name: lease for lease in await processes.list_leases(db)}
                return leases[name].holder if name in leases else None

            first = await until(lambda: holder("fetch"), "the first process to take the fetch lease")
            await until(async_(lambda: fetched_by(upstream, "process-a")), "process a to fetch")
            await b.start()
            await until(lambda: _count(db, 2), "both processes to register")
            # Both run: a goes on fetching, b never does.
            seen = fetched_by(upstream, "process-a")
            await until(async_(lambda: fetched_by(upstream, "process-a") >= seen + 3), "a few more fetches by a")
            assert fetched_by(upstream, "process-b") == 0 and await holder("fetch") == first
            shown = await status(a)
            rows = {p["pid"]: p for p in shown["processes"]}
            assert a.process is not None and b.process is not None
            assert set(rows) == {a.process.pid, b.process.pid}
            assert rows[a.process.pid]["alive"] and rows[b.process.pid]["alive"]
            assert set(rows[a.process.pid]["holds"]) == {"fetch", "upkeep"} and rows[b.process.pid]["holds"] == []
            assert rows[a.process.pid]["host"] == rows[b.process.pid]["host"] == os.uname().nodename

            await a.kill()
            second = await until(lambda: _other_holder(db, first), "b to take the fetch lease")
            after = fetched_by(upstream, "process-b")
            await until(async_(lambda: fetched_by(upstream, "process-b") > after), "b to fetch")
            dead = {p.pid: p for p in await processes.list_processes(db)}[a.process.pid]
            lease = {lease.name: lease for lease in await processes.list_leases(db)}["fetch"]
            assert lease.holder == second
            # Taken over once the dead one's lease ran out, within a lease and a heartbeat of its
            # last sign of life (whole seconds stored: one more for rounding, one for a busy machine).
            assert (lease.acquired_at - dead.heartbeat_at).total_seconds() <= LEASE + HEARTBEAT + 2
            shown = await status(b)
            rows = {p["pid"]: p for p in shown["processes"]}
            assert not rows[a.process.pid]["alive"] and rows[b.process.pid]["alive"]
            assert set(rows[b.process.pid]["holds"]) == {"fetch", "upkeep"} and shown["unheld_leases"] == []
            await b.stop()
        finally:
            await a.close()
            await b.close()
    # b stopped cleanly: its row went with it; a's stays, shown as gone until forgotten.
    assert [p.pid for p in await processes.list_processes(db)] == [a.process.pid]
    assert await processes.list_leases(db) == []


def async_(check: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def checked() -> Any:
        return check()
    return checked


async def _count(db: Database, n: int) -> bool:
    return len(await processes.list_processes(db)) == n


async def _other_holder(db: Database, first: int) -> int | None:
    leases = {lease.name: lease for lease in await processes.list_leases(db)}
    holder = leases["fetch"].holder if "fetch" in leases else None
    return holder if holder not in (None, first) else None
