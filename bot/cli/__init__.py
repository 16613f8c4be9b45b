"""The `paperboy` command: one sub-command module per area, each with `register(subparsers)`.

Library errors become one-line messages here, at the edge; tracebacks go to the log file only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from bot import __version__
from bot.cli import archive, console, demo, fetch, lookup, run, schedule, search, status, subscriptions, summary
from bot.cli import backup as backup_cli
from bot.cli import configuration as config_cli
from bot.cli.common import CliContext, CliError, setup_logging
from bot.config import ConfigError, load_settings
from storage.errors import StorageError

log = logging.getLogger("paperboy")

# Each module adds its sub-commands; order is the order of `paperboy --help`.
COMMAND_MODULES = [demo, console, run, archive, fetch, search, lookup, summary, schedule, subscriptions, status]
COMMAND_MODULES += [config_cli, backup_cli]  # deployment: settings, backup and restore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperboy",
        description="Research-paper digests for chat communities: load, search, summarise, deliver.",
    )
    parser.add_argument("--version", action="version", version=f"paperboy {__version__}")
    parser.add_argument("--db", metavar="PATH", help="SQLite database (default: $PAPERBOY_DB, the config, "
                        "or ~/.local/share/paperboy/paperboy.db)")
    parser.add_argument("--config", metavar="PATH", help="TOML settings file (default: config/paperboy.toml "
                        "when present)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to standard error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"paperboy: {exc}", file=sys.stderr)
        return 2
    if args.db:
        settings.database.path = args.db
    log_file = setup_logging(settings, verbose=args.verbose)
    ctx = CliContext(settings=settings, args=args)
    try:
        return asyncio.run(ctx.run(args.handler))
    except KeyboardInterrupt:
        print("paperboy: interrupted; anything not committed was rolled back", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Standard output was closed early (`paperboy ... | head`): stop quietly, as Unix tools do.
        # Point stdout at /dev/null so the interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe
    except CliError as exc:
        print(f"paperboy: {exc}", file=sys.stderr)
        return exc.status
    except (StorageError, ConfigError) as exc:
        log.debug("failed", exc_info=True)
        print(f"paperboy: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the edge: a user never sees a traceback
        log.exception("unexpected error in %s", args.command)
        print(f"paperboy: internal error: {exc.__class__.__name__}: {exc} (details in {log_file})", file=sys.stderr)
        return 70
