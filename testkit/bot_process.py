"""`paperboy run` as a real process against a Discord fake served from the calling process (the
kill -9 tests and scenarios, the bot-process latency bench): start it, wait for something to
happen, SIGKILL it, start it again, read its log.

    async with DiscordFake() as fake:
        bot = BotProcess(tmp_path, fake, rate=100)
        await bot.start()
        await fake.wait_until(lambda: ..., timeout=20)
        await bot.kill()                    # SIGKILL: no clean-up runs
        await bot.start()                   # same database, same fake
        ...
        await bot.stop()                    # SIGTERM, waits; raises if it did not exit cleanly

The database is prepared beforehand in the test process (schedules, digests, subscriptions) with
the storage repositories, so the process has work waiting the moment it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from testkit.discord_fake import DiscordFake, RecordedRequest

ROOT = Path(__file__).resolve().parents[1]


def environment(folder: Path, fake: DiscordFake, token: str | None) -> dict[str, str]:
    """The environment of a `paperboy run` in `folder` that talks to `fake` (fetching off)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
    env.update(PYTHONPATH=str(ROOT), PAPERBOY_DATABASE_PATH=str(folder / "bot.db"),
               PAPERBOY_LOG_FILE=str(folder / "paperboy.log"), PAPERBOY_FETCH_ENABLED="false",
               PAPERBOY_DISCORD_API_BASE=fake.api_base, PAPERBOY_DISCORD_GATEWAY_URL=fake.gateway_url)
    if token is not None:
        env["DISCORD_TOKEN"] = token
    return env


class BotProcess:
    def __init__(self, folder: Path, fake: DiscordFake, *, rate: float = 100.0, nice: int = 0,
                 args: Sequence[str] = (), send_stamps: Path | None = None, **env: str) -> None:
        self.folder = folder
        self.args = list(args)  # after `paperboy run`
        # Raised niceness: the fake (in the calling process) then comes first when the machine is
        # busy, so its own scheduling delays do not bunch the requests it time-stamps.
        self.nice = nice
        self.fake = fake
        self.env = {**environment(folder, fake, fake.token), "PAPERBOY_SCHEDULE_RATE_PER_SECOND": str(rate), **env}
        if send_stamps is not None:  # every REST request written there as it leaves (testkit/send_stamps)
            self.env |= {"TESTKIT_SEND_STAMPS": str(send_stamps),
                         "PYTHONPATH": f"{ROOT / 'testkit' / 'send_stamps'}{os.pathsep}{self.env['PYTHONPATH']}"}
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0

    @property
    def db(self) -> Path:
        return Path(self.env["PAPERBOY_DATABASE_PATH"])

    @property
    def log(self) -> str:
        path = Path(self.env["PAPERBOY_LOG_FILE"])
        return path.read_text(encoding="utf-8") if path.exists() else ""

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None, "already running"
        self.process = await asyncio.create_subprocess_exec(
            *(["nice", "-n", str(self.nice)] if self.nice else []), sys.executable, "-m", "bot", "run",
            *self.args, cwd=self.folder, env=self.env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish a request, a write or a transaction."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    def kill_at_request(self, counts: Callable[[RecordedRequest], bool], n: int) -> None:
        """SIGKILL the process as the fake finishes the `n`-th request that `counts`, before the
        response goes back: Discord did the work, the bot never hears of it (the worst moment)."""
        notifier = self.fake.notifier
        notify = notifier.notify
        seen = 0

        def hooked() -> None:
            nonlocal seen
            latest = self.fake.requests[-1] if self.fake.requests else None
            if latest is not None and counts(latest):
                seen += 1
                if seen == n and self.alive():
                    assert self.process is not None
                    os.kill(self.process.pid, signal.SIGKILL)
                    notifier.notify = notify  # type: ignore[method-assign]
            notify()

        notifier.notify = hooked  # type: ignore[method-assign]

    async def killed(self, within: float) -> None:
        """Wait for the kill armed by `kill_at_request`."""
        assert self.process is not None
        try:
            await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            raise AssertionError(f"the kill was not triggered within {within} s") from None
        assert self.process.returncode == -signal.SIGKILL, f"exited with {self.process.returncode}: {self.log[-2000:]}"
        self.kills += 1

    async def stop(self) -> str:
        """SIGTERM and wait; returns stderr. Fails when the process had died or exits uncleanly."""
        process = self.process
        assert process is not None
        assert process.returncode is None, f"the bot exited early ({process.returncode}): {await self._stderr()}"
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        err = await self._stderr()
        assert process.returncode == 0 and "Traceback" not in err, err
        return err

    async def close(self) -> None:
        """Whatever state the test ended in: no process left behind."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _stderr(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        return (await self.process.stderr.read()).decode(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


def send_stamps(path: Path) -> list[float]:
    """The times (time.monotonic) of the requests a process wrote with `send_stamps=path`."""
    if not path.exists():
        return []
    return [float(line.split(" ", 1)[0]) for line in path.read_text(encoding="utf-8").splitlines() if line]


def query(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """A read on the bot's database from outside (WAL: never blocks the bot's writes)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn, conn:
        return conn.execute(sql, params).fetchall()


def statuses(db: Path, table: str) -> dict[str, int]:
    """{status: rows} of the post log ("posts") or the delivery log ("deliveries")."""
    assert table in ("posts", "deliveries")
    return {str(s): int(str(n)) for s, n in query(db, f"SELECT status, COUNT(*) FROM {table} GROUP BY status")}  # noqa: S608


def integrity(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # writable: recovering a WAL left by a kill needs it
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
