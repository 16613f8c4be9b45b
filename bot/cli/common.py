"""What every sub-command shares: the opened database, output helpers, argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.display.as_json import json_text

if TYPE_CHECKING:  # imported where used, so that a command loads only what it needs
    from bot.config import Settings
    from bot.llm.service import LlmService
    from storage.db import Database
    from storage.instance_lock import UseLock
    from storage.loader import Loader

Handler = Callable[["CliContext"], Awaitable[int]]

# Exit statuses (docs/cli.md, "Exit status"): 1 also means "nothing found" and "needs attention".
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C

# `->>` (JSON) in the schema's queries arrived in SQLite 3.38.
MIN_SQLITE = (3, 38, 0)


class CliError(Exception):
    """A usage problem found after parsing; printed as one line, exit status `status`."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class CliContext:
    settings: Settings
    args: argparse.Namespace
    _db: Database | None = field(default=None, repr=False)
    _in_use: UseLock | None = field(default=None, repr=False)
    _llm: LlmService | None = field(default=None, repr=False)

    def hold_database(self) -> None:
        """Mark the database as in use until the command ends, as the bot and the console do
        (storage.instance_lock): `paperboy restore` then refuses instead of replacing the database
        under this command, and this command refuses (DatabaseInUse) while a restore runs, instead
        of writing into a database being replaced. Every command that opens the database holds it:
        even one that only reads may write when it opens it (migrations, the title index snapshot)."""
        if self._in_use is None:
            from storage.instance_lock import hold_shared

            self._in_use = hold_shared(self.settings.db_address)

    async def db(self) -> Database:
        """The database, opened (and migrated) on first use, held until the command ends."""
        if self._db is None:
            from storage.instance_lock import open_held

            self._db, self._in_use = await open_held(self.settings.db_address, held=self._in_use,
                                                     busy_timeout_ms=self.settings.database.busy_timeout_ms)
        return self._db

    async def loader(self) -> Loader:
        """The app's loader for a one-shot command (`bot.app.build_loader`): subscribers'
        notifications are queued once each digest committed, as the bot's are (a digest a crash
        left unmatched too); a running bot sends them. With [llm] on, the model's summaries of a
        recent digest are written before the command ends."""
        from bot.app import build_loader

        return build_loader(await self.db(), self.settings, llm=await self.llm())

    async def llm(self) -> LlmService | None:
        """The model's summaries service (writing before it returns), None when [llm] is off."""
        if self._llm is None:
            from bot.app import llm_from

            self._llm = llm_from(await self.db(), self.settings, background=False)
        return self._llm

    async def run(self, handler: Handler) -> int:
        try:
            return await handler(self)
        finally:
            if self._llm is not None:
                await self._llm.close()
                self._llm = None
            if self._db is not None:
                await self._db.close()
                self._db = None
            if self._in_use is not None:
                self._in_use.release()
                self._in_use = None


def check_sqlite(version: str | None = None) -> None:
    """Refuse to start on an SQLite older than the schema needs, saying what is needed."""
    import sqlite3

    found = version or sqlite3.sqlite_version
    if tuple(int(n) for n in found.split(".")[:3]) < MIN_SQLITE:
        need = ".".join(map(str, MIN_SQLITE))
        raise CliError(f"Paperboy needs SQLite {need} or newer; this Python uses SQLite {found} "
                       f"({sqlite3.__file__}). Use a Python built with a newer SQLite (3.11-3.13 from "
                       "python.org, pyenv or your distribution's newer release).", status=EXIT_NOT_FOUND)


def print_json(obj: Any) -> None:
    """The `--json` contract: JSON Lines, one object per line; a list prints one line per item."""
    for item in obj if isinstance(obj, list) else [obj]:
        sys.stdout.write(json_text(item) + "\n")


def date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2025-09-09") from None


def digest_date_arg(text: str) -> dt.date:
    """A day a digest can have: from arXiv's start to two days after today (bot.ingest.formats.bounds)."""
    from bot.ingest.formats.bounds import date_problem

    day = date_arg(text)
    problem = date_problem(day, dt.date.today())
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return day


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return value


def add_json_flag(parser: argparse.ArgumentParser, group: Any = None) -> None:
    """`--json` (also accepted before the command: `paperboy --json COMMAND`)."""
    (group or parser).add_argument("--json", action="store_true",
                                   help="machine-readable output: JSON Lines, one object per line")
    parser.set_defaults(json_ok=True)
