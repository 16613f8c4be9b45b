"""What every sub-command shares: the opened database, output helpers, argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.log_setup import setup_logging as setup_logging  # the CLI's entry point sets up logging
from bot.subscriptions.notify import notification_hook
from storage.db import Database
from storage.loader import Loader

Handler = Callable[["CliContext"], Awaitable[int]]


class CliError(Exception):
    """A usage problem found after parsing; printed as one line, exit status `status`."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class CliContext:
    settings: Settings
    args: argparse.Namespace
    _db: Database | None = field(default=None, repr=False)

    async def db(self) -> Database:
        """The database, opened (and migrated) on first use."""
        if self._db is None:
            self._db = await Database.open(self.settings.db_path,
                                           busy_timeout_ms=self.settings.database.busy_timeout_ms)
        return self._db

    async def loader(self) -> Loader:
        """A loader that queues subscribers' notifications with each digest, as the bot's does;
        a running bot sends them (its deliverer picks up pending rows)."""
        return Loader(await self.db(), after_load=[notification_hook(self.settings.subscriptions)])

    async def run(self, handler: Handler) -> int:
        try:
            return await handler(self)
        finally:
            if self._db is not None:
                await self._db.close()
                self._db = None


def print_json(obj: Any) -> None:
    """One JSON document on one line: the `--json` contract."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2025-09-09") from None


def digest_date_arg(text: str) -> dt.date:
    """A day a digest can have: from arXiv's start to two days after today (storage.ingest.bounds)."""
    from storage.ingest.bounds import date_problem

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


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON only")
