"""`python -m bench takeover`: how soon another process takes over a SIGKILLed process's leased
work (#16's target: within a minute), with the default `[processes]` settings (heartbeat 10 s,
lease 30 s), on SQLite and PostgreSQL in the same run.

Two `paperboy run` processes share a fresh database and the loopback Discord fake (fetching off:
the upkeep lease, which every process asks for, stands for both leases). Once both run, the
holder is SIGKILLed; the time until the other one holds the lease is taken on the wall clock, and
what the database recorded is reported beside it (the lease's `acquired_at` minus the dead
process's last heartbeat, in whole seconds). The kill comes at a random moment of the heartbeat
period (seeded by --seed), as a real one would. Expected: between the lease (30 s) and the lease
plus a heartbeat (40 s) after the last heartbeat, so 20 to 40 s after the kill.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import BenchError, Row
from bot.config import ProcessSettings
from storage import processes
from storage.address import is_postgres
from storage.backends import open_database
from storage.db import Database
from storage.processes import UPKEEP
from testkit import pg_server
from testkit.bot_process import BotProcess
from testkit.discord_fake import DiscordFake

NAME = "takeover"
DESCRIPTION = "seconds from SIGKILL of a lease holder to another process holding the lease (defaults)"
TARGET_S = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=2, help="kills per backend (default: %(default)s)")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both (default: both)")
    parser.set_defaults(sizes=[0])


async def _holder(db: Database, name: str) -> int | None:
    for lease in await processes.list_leases(db):
        if lease.name == name:
            return lease.holder
    return None


async def _until(check: object, what: str, limit: float = 120.0) -> object:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = await check()  # type: ignore[operator]
        if value:
            return value
        await asyncio.sleep(0.05)
    raise BenchError(f"waited {limit:.0f} s for {what}")


async def _one(folder: Path, address: str, pause: float) -> tuple[float, float]:
    """(wall seconds from the kill to the takeover, stored acquired_at - last heartbeat)."""
    where = {"PAPERBOY_DATABASE_URL": address} if is_postgres(address) else {"PAPERBOY_DATABASE_PATH": address}
    async with DiscordFake() as fake, await open_database(address) as db:
        bots = []
        for name in ("a", "b"):
            (folder / name).mkdir()
            bots.append(BotProcess(folder / name, fake, **where))
        try:
            await bots[0].start()
            first = await _until(lambda: _holder(db, UPKEEP), "the first process to hold the lease")
            await bots[1].start()
            await _until(lambda: _count(db, 2), "the second process to register")
            pids = {p.id: p.pid for p in await processes.list_processes(db)}
            doomed = next(b for b in bots if b.process is not None and b.process.pid == pids[first])  # type: ignore[index]
            await asyncio.sleep(pause)
            await doomed.kill()
            killed = time.monotonic()
            second = await _until(lambda: _other(db, first), "the other process to take the lease")
            wall = time.monotonic() - killed
            dead = next(p for p in await processes.list_processes(db) if p.id == first)
            lease = next(lease for lease in await processes.list_leases(db) if lease.holder == second)
            return wall, (lease.acquired_at - dead.heartbeat_at).total_seconds()
        finally:
            for bot in bots:
                await bot.close()


async def _count(db: Database, n: int) -> bool:
    return len(await processes.list_processes(db)) >= n


async def _other(db: Database, first: object) -> int | None:
    holder = await _holder(db, UPKEEP)
    return holder if holder not in (None, first) else None


def run(args: argparse.Namespace) -> list[Row]:
    rows = []
    chance = random.Random(args.seed)
    heartbeat = ProcessSettings().heartbeat_seconds
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    server = pg_server.start() if "postgres" in backends else None
    try:
        for backend in backends:
            walls, stored = [], []
            for i in range(args.repeat):
                with tempfile.TemporaryDirectory(prefix="paperboy-takeover-") as folder:
                    if backend == "postgres":
                        assert server is not None
                        name = f"takeover{i}"
                        asyncio.run(_create(server.url, name))
                        address = server.database_url(name)
                    else:
                        address = str(Path(folder) / "bot.db")
                    wall, gap = asyncio.run(_one(Path(folder), address, chance.uniform(0, heartbeat)))
                walls.append(wall)
                stored.append(gap)
            rows.append(Row(NAME, backend, {
                "kills": len(walls), "median s after kill": round(statistics.median(walls), 1),
                "max s after kill": round(max(walls), 1), "max s after last heartbeat": max(stored),
                "target": f"<= {TARGET_S:.0f} s", "met": max(walls) <= TARGET_S}))
    finally:
        if server is not None:
            server.stop()
    return rows


async def _create(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
