"""Who waited for the database during a bench run, how long, and behind whom.

`WriteLog(db).attach()` wraps one open `Database` (bench-only: the instance's `transaction` and its
connection's `_execute` are replaced, nothing in storage/ changes) and records

* every write transaction: its caller (the first project function that asked, and the first
  `bot.` function above it, e.g. "storage.posts.claim < bot.schedule.poster.Poster.record"), when it
  asked for the transaction lock, when BEGIN IMMEDIATE returned, when its body ended and when
  COMMIT returned;
* every statement on the connection's one worker thread (reads included): its caller, how long it
  queued behind other statements, how long SQLite ran it, and how long the event loop took to
  resume the caller afterwards.

`stalls()` turns that into rows a reader can act on: per caller the count and waits, and the
longest wait with the transactions that held the lock meanwhile (what it waited behind).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import aiosqlite

from storage.db import Database

# Frames of these modules are plumbing, never "the caller".
_UNNAMED = re.compile(r"^Task-\d+$")
_PLUMBING = ("contextlib", "asyncio", "aiosqlite", "storage.sqlite.db", "storage.sendlog", "bench.write_stalls")


def caller(frame: FrameType | None) -> str:
    """The first project function on the stack, and the first `bot.` function above it; for a
    task of plumbing alone (storage.sendlog.GroupWriter's), the task's name."""
    first = ""
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("asyncio."):
            break  # the event loop stepping this task: what is above it is not the caller
        if module.startswith(("storage.", "bot.", "bench.", "tests.")) and not module.startswith(_PLUMBING):
            name = f"{module}.{frame.f_code.co_qualname}"
            if not first:
                first = name
                if module.startswith("bot."):
                    return first
            elif module.startswith("bot."):
                return f"{first} < {name}"
        frame = frame.f_back
    if not first:
        task = asyncio.current_task()
        # asyncio's default names (Task-123) are one per task: count those together.
        return f"task {_UNNAMED.sub('Task-N', task.get_name())!r}" if task is not None else "?"
    return first


def _task_id() -> int:
    return id(asyncio.current_task())


@dataclass(slots=True)
class Transaction:
    caller: str
    asked: float
    task: int = 0
    locked: float = 0.0  # the transaction lock was ours (then BEGIN IMMEDIATE queued and ran)
    began: float = 0.0
    body_ended: float = 0.0
    ended: float = 0.0

    @property
    def waited(self) -> float:
        return self.began - self.asked

    @property
    def held(self) -> float:
        return self.ended - self.locked


@dataclass(slots=True)
class Statement:
    caller: str
    queued: float
    task: int = 0
    started: float = 0.0
    finished: float = 0.0
    resumed: float = 0.0


@dataclass
class WriteLog:
    db: Database
    transactions: list[Transaction] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    hook_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def attach(self) -> WriteLog:
        original = self.db.transaction
        transactions = self.transactions
        lock = self.db._tx_lock
        acquire = lock.acquire
        locked_at: dict[asyncio.Task[Any] | None, float] = {}

        async def timed_acquire() -> bool:
            got = await acquire()
            locked_at[asyncio.current_task()] = time.perf_counter()
            return got

        lock.acquire = timed_acquire  # type: ignore[method-assign]

        @asynccontextmanager
        async def transaction() -> AsyncIterator[aiosqlite.Connection]:
            record = Transaction(caller(sys._getframe(1)), time.perf_counter(), _task_id())
            try:
                async with original() as conn:
                    record.began = time.perf_counter()
                    record.locked = locked_at.pop(asyncio.current_task(), record.began)
                    try:
                        yield conn
                    finally:
                        record.body_ended = time.perf_counter()
            finally:
                record.ended = time.perf_counter()
                if record.began:
                    transactions.append(record)

        self.db.transaction = transaction  # type: ignore[method-assign]

        conn = self.db.conn
        queue_call: Callable[..., Awaitable[Any]] = conn._execute
        statements = self.statements

        async def execute(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            record = Statement(caller(sys._getframe(1)), time.perf_counter(), _task_id())

            def timed() -> Any:
                record.started = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    record.finished = time.perf_counter()

            try:
                return await queue_call(timed)
            finally:
                record.resumed = time.perf_counter()
                if record.started:
                    statements.append(record)

        conn._execute = execute  # type: ignore[method-assign]
        return self

    def time_hooks(self, hooks: list[Callable[..., Awaitable[None]]]) -> None:
        """Replace each loader `after_load` hook in place by one that adds up its seconds."""
        for i, hook in enumerate(hooks):
            hooks[i] = self._timed_hook(hook)

    def _timed_hook(self, hook: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        name = getattr(hook, "__qualname__", repr(hook))
        if hasattr(hook, "__self__"):
            name = f"{type(hook.__self__).__name__}.{hook.__name__}"

        async def timed(*args: Any) -> None:
            start = time.perf_counter()
            try:
                await hook(*args)
            finally:
                self.hook_seconds[name] += time.perf_counter() - start

        return timed

    # -- reading it ----------------------------------------------------------------------------

    def by_caller(self) -> dict[str, list[Transaction]]:
        grouped: dict[str, list[Transaction]] = defaultdict(list)
        for t in self.transactions:
            grouped[t.caller].append(t)
        return dict(sorted(grouped.items(), key=lambda kv: -sum(t.waited for t in kv[1])))

    def behind(self, waiter: Transaction) -> list[tuple[str, float]]:
        """The callers that held the lock while `waiter` waited, with how much of the wait each."""
        held: dict[str, float] = defaultdict(float)
        for t in self.transactions:
            if t is waiter:
                continue
            overlap = min(t.ended, waiter.locked) - max(t.locked, waiter.asked)
            if overlap > 0:
                held[t.caller] += overlap
        return sorted(held.items(), key=lambda kv: -kv[1])

    def worst(self) -> Transaction | None:
        return max(self.transactions, key=lambda t: t.waited, default=None)

    def explain_worst(self) -> str:
        """One line: the longest wait, who waited, behind whom, and where the longest holder's time went."""
        worst = self.worst()
        if worst is None:
            return "no write transactions"
        parts = [f"{worst.waited:.1f} s: {worst.caller} ({worst.locked - worst.asked:.1f} s for the lock, "
                 f"{worst.began - worst.locked:.1f} s for BEGIN)"]
        ahead = [t for t in self.transactions if t is not worst and t.locked < worst.locked and t.ended > worst.asked]
        blockers = self.behind(worst)
        if blockers:
            name, seconds = blockers[0]
            parts.append(f"behind {len(ahead)} transactions, mostly {name} ({seconds:.1f} s of the wait)")
            holder = max(ahead, key=lambda t: t.held)
            parts.append(f"the longest, {holder.caller}, held the lock {holder.held:.2f} s: {self.anatomy(holder)}")
        return "; ".join(parts)

    def anatomy(self, t: Transaction) -> str:
        """Where a transaction's hold went: its statements' time running and queued on the
        connection's one thread (and what ran there meanwhile), its loader hooks, COMMIT."""
        own = [s for s in self.statements if s.task == t.task and t.locked <= s.queued and s.resumed <= t.ended]
        ran = sum(s.finished - s.started for s in own)
        queued = sum(s.started - s.queued for s in own)
        back = sum(s.resumed - s.finished for s in own)
        others: dict[str, float] = defaultdict(float)
        for s in self.statements:
            if s.task != t.task:
                overlap = min(s.finished, t.ended) - max(s.started, t.locked)
                if overlap > 0:
                    others[s.caller] += overlap
        text = (f"its {len(own)} statements ran {ran:.2f} s and queued {queued:.2f} s on the connection's "
                f"thread, {back:.2f} s until the event loop resumed them")
        if others:
            name, seconds = max(others.items(), key=lambda kv: kv[1])
            text += (f" (the thread meanwhile ran others' statements {sum(others.values()):.2f} s, "
                     f"most {name} {seconds:.2f} s)")
        if t.caller.startswith("storage.loader") and self.hook_seconds:
            text += ", loader hooks " + ", ".join(f"{n} {v:.2f} s" for n, v in self.hook_seconds.items())
        return text + f", COMMIT {t.ended - t.body_ended:.2f} s"

    def statements_by_caller(self) -> dict[str, list[Statement]]:
        """Statements grouped by caller, the most time on the connection's thread first."""
        grouped: dict[str, list[Statement]] = defaultdict(list)
        for st in self.statements:
            grouped[st.caller].append(st)
        return dict(sorted(grouped.items(), key=lambda kv: -sum(x.finished - x.started for x in kv[1])))

    def thread_by_caller(self, start: float, end: float) -> dict[str, float]:
        """Seconds the connection's thread spent on each caller's statements between `start` and
        `end`, the busiest first."""
        busy: dict[str, float] = defaultdict(float)
        for s in self.statements:
            overlap = min(s.finished, end) - max(s.started, start)
            if overlap > 0:
                busy[s.caller] += overlap
        return dict(sorted(busy.items(), key=lambda kv: -kv[1]))


def percentile(values: Iterable[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


async def loop_lag(samples: list[float], stop: asyncio.Event, interval: float = 0.05) -> None:
    """Until `stop`: how late the event loop wakes an `interval` sleep (how busy the loop is)."""
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(interval)
        samples.append(time.perf_counter() - asked - interval)

