"""The processes sharing the database as the operator sees them (`paperboy status`, `/status`).

A process is alive while its heartbeat is younger than the lease time (past it, the leases it
held are free for the others to take), and gone after that: killed, crashed, or cut off from the
database. A gone process stays listed until the upkeep forgets it (`[processes]
forget_after_seconds`). Server admins (`/status`) see each process by number, never its host
name or pid, which are the operator's business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.config import ProcessSettings
from storage import processes
from storage.db import Database
from storage.processes import LEASES


@dataclass(slots=True, frozen=True)
class ProcessView:
    id: int
    host: str
    pid: int
    shards: str | None
    command: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    heartbeat_age: float  # seconds
    alive: bool
    holds: tuple[str, ...]  # the unexpired leases it holds

    def line(self, *, operator: bool) -> str:
        who = f"{self.host} pid {self.pid}" if operator else f"process {self.id}"
        parts = [who, f"shards {self.shards}" if self.shards else "all shards"]
        if self.alive:
            parts.append(f"heartbeat {age(self.heartbeat_age)} ago")
            parts.append(f"holds {', '.join(self.holds)}" if self.holds else "holds nothing")
        else:
            parts.append(f"gone: no heartbeat for {age(self.heartbeat_age)}")
        return " · ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "host": self.host, "pid": self.pid, "shards": self.shards, "command": self.command,
                "started_at": self.started_at, "heartbeat_at": self.heartbeat_at,
                "heartbeat_age_seconds": round(self.heartbeat_age, 1), "alive": self.alive, "holds": list(self.holds)}


@dataclass(slots=True, frozen=True)
class ProcessesReport:
    processes: list[ProcessView]
    unheld: list[str]  # leases no live process holds (taken at the next heartbeat of one)

    def text(self, *, operator: bool) -> str:
        if not self.processes:
            return "none running (each `paperboy run` registers here)"
        lines = [p.line(operator=operator) for p in self.processes]
        lines += [f"{name}: held by no process (the next heartbeat takes it)" for name in self.unheld]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"processes": [p.to_json() for p in self.processes], "unheld_leases": self.unheld}


def age(seconds: float) -> str:
    """A duration as a person reads it: 4 s, 2 min, 3 h, 2 d."""
    if seconds < 120:
        return f"{max(int(seconds), 0)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86_400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86_400)} d"


async def gather_processes(db: Database, settings: ProcessSettings, now: dt.datetime,
                           wanted: Sequence[str] = LEASES) -> ProcessesReport:
    """Every registered process and the leases each holds, as of `now` (the wall clock); of the
    `wanted` leases (fetching only when sources are enabled), those no live process holds."""
    rows = await processes.list_processes(db)
    leases = [lease for lease in await processes.list_leases(db) if not lease.expired(now)]
    views = []
    for row in rows:
        heard = (now - row.heartbeat_at).total_seconds()
        views.append(ProcessView(row.id, row.host, row.pid, row.shards, row.command, row.started_at,
                                 row.heartbeat_at, heard, heard < settings.lease_seconds,
                                 tuple(lease.name for lease in leases if lease.holder == row.id)))
    alive = {v.id for v in views if v.alive}
    held = {lease.name for lease in leases if lease.holder in alive}
    return ProcessesReport(views, [name for name in wanted if name not in held])
