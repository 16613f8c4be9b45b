"""One process among several: its row in the process table, its heartbeat, and its leases.

A `Coordinator` registers the process when the bot starts, then every `heartbeat_seconds`:
renews its heartbeat, renews each lease it holds (work whose lease was lost, taken by another
process after a stall, stops at once), and asks for each lease it does not hold (work whose lease
it gets starts at once). A process killed while holding a lease stops renewing it; the lease
expires `lease_seconds` after its last renewal and the next process to ask takes it, so its work
is taken over within `lease_seconds + heartbeat_seconds`. A process that cannot reach the
database (or whose heartbeat hangs) stops its leased work once its last renewal is `lease_seconds`
old, since another process may have taken the lease by then. A clean stop stops the work and
deletes the row with its leases, so another process takes them over at its next heartbeat.

The holder of the upkeep lease also forgets processes not heard of for `forget_after_seconds`.
A process on this machine whose pid no longer exists is known dead at once: a restarted bot frees
its predecessor's leases and row when it starts, rather than waiting for them to expire.

Times are the wall clock (`clock`, injectable in tests), never the app's simulated clock: the
processes compare them with each other's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.config import ProcessSettings
from storage import processes
from storage.db import Database, now_utc
from storage.errors import ConnectionLost
from storage.processes import UPKEEP

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class Leased:
    """Work under lease `name`: `start` once this process holds it, `stop` once it does not."""

    name: str
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (one we may not signal counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Coordinator:
    def __init__(self, db: Database, settings: ProcessSettings, work: Sequence[Leased] = (), *,
                 shards: str | None = None, command: str = "run", clock: Callable[[], dt.datetime] = now_utc,
                 host: str | None = None, pid: int | None = None) -> None:
        self.db = db
        self.settings = settings
        self.work = list(work)
        self.shards = shards
        self.command = command
        self.clock = clock
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.process_id: int | None = None
        self.holds: set[str] = set()  # the leases held, whose work is running
        self._renewed: dict[str, dt.datetime] = {}  # each held lease's last renewal
        self._task: asyncio.Task[None] | None = None

    @property
    def ttl(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.lease_seconds)

    async def start(self) -> None:
        """Register, take what leases are free (their work starts before this returns), then keep
        beating in the background."""
        now = self.clock()
        await self._forget_dead_neighbours()
        self.process_id = await self._register(now)
        log.info("process %s registered (%s pid %s%s)", self.process_id, self.host, self.pid,
                 f", shards {self.shards}" if self.shards else "")
        await self.beat(now)
        self._task = asyncio.create_task(self._forever(), name="heartbeat")

    async def _register(self, now: dt.datetime) -> int:
        return await processes.register(self.db, host=self.host, pid=self.pid, shards=self.shards,
                                        command=self.command, now=now)

    async def _forget_dead_neighbours(self) -> None:
        for row in await processes.list_processes(self.db):
            if row.host == self.host and row.pid != self.pid and not pid_alive(row.pid):
                log.info("process %s (pid %s on this machine) is gone: its leases are free", row.id, row.pid)
                await processes.unregister(self.db, row.id)

    async def beat(self, now: dt.datetime | None = None) -> None:
        """One heartbeat: say this process is alive, renew what it holds, ask for what it does not."""
        now = now or self.clock()
        assert self.process_id is not None, "start() first"
        if not await processes.heartbeat(self.db, self.process_id, now=now):
            # Pruned as dead after a long stall: whatever it held may be another's by now.
            log.warning("process %s was forgotten as dead; registering again", self.process_id)
            for name in sorted(self.holds):
                await self._lose(name)
            self.process_id = await self._register(now)
        for work in self.work:
            if work.name in self.holds:
                if await processes.renew(self.db, work.name, self.process_id, now=now, ttl=self.ttl):
                    self._renewed[work.name] = now
                else:
                    log.warning("lease %s was taken over by another process; stopping it here", work.name)
                    await self._lose(work.name)
            elif await processes.acquire(self.db, work.name, self.process_id, now=now, ttl=self.ttl):
                self.holds.add(work.name)
                self._renewed[work.name] = now
                log.info("lease %s taken: %s runs in this process", work.name, work.name)
                if not await _run(work.start, f"starting {work.name}"):
                    # Let another process try: the cause may be this one's (its configuration, its network).
                    self.holds.discard(work.name)
                    await processes.release(self.db, work.name, self.process_id)
        if UPKEEP in self.holds:
            forget = now - dt.timedelta(seconds=self.settings.forget_after_seconds)
            if gone := await processes.prune_processes(self.db, heard_before=forget):
                log.info("forgot %d processes not heard of since %s", gone, forget.isoformat())

    async def _lose(self, name: str) -> None:
        self.holds.discard(name)
        self._renewed.pop(name, None)
        work = next(w for w in self.work if w.name == name)
        await _run(work.stop, f"stopping {name}")

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            now = self.clock()
            try:
                # Bounded: a beat stuck on a silent network must not keep this process's leased
                # work running past the lease, while another process may have taken it over.
                await asyncio.wait_for(self.beat(now), timeout=self.settings.lease_seconds)
            except Exception as exc:  # noqa: BLE001 - the database away: keep trying, stop what may be another's
                log.warning("heartbeat failed (%s: %s); trying again in %gs", type(exc).__name__, exc,
                            self.settings.heartbeat_seconds)
                await self._give_up_expired(now)

    async def _give_up_expired(self, now: dt.datetime) -> None:
        for name in sorted(self.holds):
            if now - self._renewed[name] >= self.ttl:
                log.warning("lease %s not renewed for %gs: stopping it here (another process may hold it)",
                            name, self.settings.lease_seconds)
                await self._lose(name)

    async def close(self) -> None:
        """A clean stop: the beating ends, the leased work stops, the row and its leases go."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for name in sorted(self.holds):
            await self._lose(name)
        if self.process_id is not None:
            try:
                await processes.unregister(self.db, self.process_id)
            except Exception as exc:  # noqa: BLE001 - the database away: the row and leases expire instead
                log.warning("could not unregister process %s (%s); its leases expire on their own",
                            self.process_id, exc)
            self.process_id = None


async def _run(step: Callable[[], Awaitable[None]], what: str) -> bool:
    try:
        await step()
    except ConnectionLost as exc:  # the server restarting: nothing to debug
        log.warning("%s failed: %s", what, exc)
        return False
    except Exception:  # noqa: BLE001 - one piece of work failing to start or stop must not stop the heartbeat
        log.exception("%s failed", what)
        return False
    return True
