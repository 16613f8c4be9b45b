"""The `paperboy` command: one sub-command module per area, each with `register(subparsers)`.

Library errors become one-line messages here, at the edge; tracebacks go to the log file only.
Only the module of the command being run is imported (`paperboy --help` imports none of them),
so the command starts at once; `COMMANDS` names each command's module, summary and example.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from bot import __version__
from bot.cli.common import EXIT_INTERNAL, EXIT_NOT_FOUND, EXIT_USAGE, CliContext, CliError


class Command(NamedTuple):
    module: str
    summary: str
    example: str


# Order is the order of `paperboy --help`.
COMMANDS: dict[str, Command] = {
    "demo": Command("demo", "load the bundled sample digest and open the console on it (own database)",
                    "paperboy demo"),
    "console": Command("console", "try every chat command in the terminal (as any user; simulated time)",
                       "paperboy console --sample --admin"),
    "run": Command("run", "run the Discord bot (slash commands, daily posts, notifications, fetching)",
                   "DISCORD_TOKEN=... paperboy run"),
    "web": Command("web", "serve the read-only web archive: digests, papers, search, feeds, JSON, metrics",
                   "paperboy web --port 8080"),
    "sync-commands": Command("run", "register the slash commands with Discord now",
                             "paperboy sync-commands --guild 123456789012345678"),
    "ingest": Command("archive", "load digests from files, URLs or standard input",
                      "paperboy ingest digest.json; curl -s URL | paperboy ingest - --date 2025-09-09"),
    "digests": Command("archive", "list stored daily digests (archive imports with --all)",
                       "paperboy digests --source hf-daily --limit 7"),
    "export": Command("archive", "write papers as JSON Lines (paperboy ingest reads it back)",
                      "paperboy export --since 2025-09-01 > papers.jsonl"),
    "stats": Command("archive", "papers, digests and database size", "paperboy stats --json"),
    "fetch": Command("fetch", "fetch digests from their sources now, or backfill a range of days",
                     "paperboy fetch hf-daily --since 2025-09-01"),
    "sources": Command("fetch", "each digest source's health and what is stored from it",
                       "paperboy sources --json"),
    "search": Command("search", "keyword search over titles and abstracts",
                      "paperboy search 'diffusion -survey' --since 2025-09-01"),
    "paper": Command("lookup", "find a paper by its (misremembered) title, short name, arXiv id or URL",
                     "paperboy paper 'flash att'"),
    "digest": Command("summary", "show a digest's daily summary (the latest by default)",
                      "paperboy digest --date 2025-09-09"),
    "summarize": Command("summarize", "write (or, with --dry-run, show) the model's summaries of a digest",
                         "paperboy summarize --date 2025-09-09 --dry-run"),
    "schedule": Command("schedule", "when and where each server gets its daily post",
                        "paperboy schedule set discord:123 --channel papers --time 09:00 --tz Europe/Berlin"),
    "posts": Command("schedule", "the post log: server, channel, digest, status, time",
                     "paperboy posts --status failed"),
    "vote": Command("community", "vote for a paper as a server's member, or take the vote back (--undo)",
                    "paperboy vote discord:42 'flash attention' --server discord:123"),
    "top": Command("community", "the most voted papers of a period, blended with the source's upvotes",
                   "paperboy top --server discord:123 --since 2025-09-01"),
    "library": Command("community", "a user's saved papers: list, add, remove, export (BibTeX, CSV, JSON Lines)",
                       "paperboy library discord:42 export --format bibtex -o library.bib"),
    "similar": Command("similar", "the papers most like a paper (TF-IDF of titles and abstracts); --rebuild the index",
                       "paperboy similar 'flash attention' --limit 5"),
    "recommend": Command("similar", "recent papers like the ones a user saved and voted for, with the words",
                         "paperboy recommend discord:42 --days 14"),
    "subscribe": Command("subscriptions", "follow a topic (shows how it did over the last 30 days)",
                         "paperboy subscribe discord:42 'kv cache -vision'"),
    "unsubscribe": Command("subscriptions", "stop following a topic (as typed, or its number)",
                           "paperboy unsubscribe discord:42 1"),
    "subscriptions": Command("subscriptions", "list topics; a user's preferences; why a paper was (not) sent",
                             "paperboy subscriptions discord:42 --why id:22"),
    "deliveries": Command("subscriptions", "the notification log: user, digest, status, papers",
                          "paperboy deliveries --status failed"),
    "status": Command("status", "the archive, sources, waiting and failed posts and notifications",
                      "paperboy status --json"),
    "config": Command("configuration", "every setting, its value and where it came from (secrets masked)",
                      "paperboy config --json"),
    "migrate-db": Command("migrate", "copy the whole archive between SQLite and PostgreSQL, checked table by table",
                          "paperboy migrate-db paperboy.db postgresql://paperboy@db/paperboy"),
    "backup": Command("backup", "copy the database safely, even while the bot runs, and check the copy",
                      "paperboy backup /var/backups/paperboy/"),
    "restore": Command("backup", "replace the database with a backup (refused while the bot runs)",
                       "paperboy restore backup.db"),
}

EXIT_CODES = f"""\
exit status:
  0   success
  {EXIT_NOT_FOUND}   nothing found (paper, search, digest), or something needs attention (status, ingest)
  {EXIT_USAGE}   usage: a bad option or argument
  {EXIT_INTERNAL}  internal error (details in the log file)
--db, --config, --json and -v are accepted before or after the command."""

# Options every command takes, before or after its name. SUPPRESS: a value given before the
# command is not reset by the command's parser.
_COMMON = argparse.ArgumentParser(add_help=False)
_COMMON.add_argument("--db", metavar="ADDRESS", default=argparse.SUPPRESS,
                     help="the database: a SQLite file, sqlite:///PATH or postgresql://USER@HOST/NAME (default: "
                          "$PAPERBOY_DATABASE_URL, $PAPERBOY_DB, the config, or ~/.local/share/paperboy/paperboy.db; "
                          "the demo: demo.db beside it)")
_COMMON.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                     help="TOML settings file (default: config/paperboy.toml when present)")
_COMMON.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                     help="log progress to standard error")


class _Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Gives every (sub-)command the common options, and its summary and example from COMMANDS."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        command = COMMANDS.get(name)
        if command is not None and self.dest == "command":
            kwargs.setdefault("help", command.summary)
            kwargs.setdefault("description", command.summary[:1].upper() + command.summary[1:] + ".")
            example = f"example: {command.example}"
            kwargs["epilog"] = f"{kwargs['epilog']}\n{example}" if kwargs.get("epilog") else example
        kwargs["parents"] = [*kwargs.get("parents", []), _COMMON]
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        parser.register("action", "parsers", _Subcommands)
        return parser


def build_parser(only: str | None = "*") -> argparse.ArgumentParser:
    """The full parser ("*"), or one where only command `only` is complete and the others are
    listed by name and summary (None: just the listing, for `paperboy --help`)."""
    parser = argparse.ArgumentParser(
        prog="paperboy", parents=[_COMMON],
        description="Research-paper digests for chat communities: load, search, summarise, deliver.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"paperboy {__version__}")
    parser.add_argument("--json", dest="json_first", action="store_true",
                        help="machine-readable output: JSON Lines, one object per line (commands that have it)")
    parser.register("action", "parsers", _Subcommands)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {c.module for c in COMMANDS.values()} if only == "*" else {COMMANDS[only].module} if only else set()
    for module in sorted(modules, key=[c.module for c in COMMANDS.values()].index):
        importlib.import_module(f"bot.cli.{module}").register(sub)
    for name in COMMANDS.keys() - sub.choices.keys():  # listed by name and summary only
        sub.add_parser(name, add_help=False)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The command named in `argv`: its first word that is not an option or an option's value."""
    words = iter(argv)
    for word in words:
        if word in ("--db", "--config"):
            next(words, None)
        elif word == "--" or not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


# Commands whose text argument may start with a search exclusion (`paperboy search -survey`).
_QUERY_COMMANDS = ("search", "paper", "subscribe")


def _exclusions_as_arguments(argv: list[str], parser: argparse.ArgumentParser, command: str) -> list[str]:
    """Words after `command` that look like options but are none of its options ('-survey') are
    query text: they move after a `--`, where argparse takes them as arguments."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    known = commands.choices[command]._option_string_actions
    start = argv.index(command) + 1
    if "--" in argv[start:]:
        return argv
    words = argv[start:]
    dashed = [w for w in words if len(w) > 1 and w[0] == "-" and w[1] != "-" and not w[1].isdigit()
              and w not in known and w[:2] not in known]
    if not dashed:
        return argv
    rest = [w for w in words if w not in dashed]
    return [*argv[:start], *rest, "--", *dashed]


def _fail(message: str) -> None:
    """A command's error on standard error, never showing a secret or a URL's password."""
    from bot.redact import redact

    print(redact(message), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_word(argv)
    parser = build_parser(command)
    if command in _QUERY_COMMANDS:
        argv = _exclusions_as_arguments(argv, parser, command)
    args = parser.parse_args(argv)
    if args.json_first:
        if not getattr(args, "json_ok", False):
            parser.error(f"{args.command} has no --json output")
        args.json = True
    return _run(args)


# Options that set a setting (bot.config.OPTION_FLAGS): "section.key" -> the attribute argparse fills.
_SETTING_OPTIONS = {"database.url": "db", "discord.shard_ids": "shards", "discord.shard_count": "shard_count"}


def _setting_options(args: argparse.Namespace) -> dict[str, object] | None:
    """The settings given as options, for bot.config.resolve (command line beats everything)."""
    given = {dotted: value for dotted, attr in _SETTING_OPTIONS.items()
             if (value := getattr(args, attr, None)) not in (None, "")}
    return given or None


def _run(args: argparse.Namespace) -> int:
    # Imported after parsing: `--help` and usage errors need none of this.
    import asyncio
    import logging

    from bot.cli.common import EXIT_INTERRUPTED, check_sqlite
    from bot.cli.log_setup import setup_logging
    from bot.config import ConfigError, load_settings
    from storage.backends import known_error
    from storage.errors import StorageError

    log = logging.getLogger("paperboy")
    try:
        check_sqlite()
        settings = load_settings(getattr(args, "config", None), command_line=_setting_options(args))
    except CliError as exc:
        _fail(f"paperboy: {exc}")
        return exc.status
    except ConfigError as exc:
        _fail(f"paperboy: {exc}")
        return EXIT_USAGE
    if getattr(args, "own_database", None) and not getattr(args, "db", None):
        settings.database.url = os.path.join(os.path.dirname(settings.db_path), args.own_database)
    log_file = setup_logging(settings, verbose=getattr(args, "verbose", False))
    ctx = CliContext(settings=settings, args=args)
    try:
        return asyncio.run(ctx.run(args.handler))
    except KeyboardInterrupt:
        print("paperboy: interrupted; anything not committed was rolled back", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Standard output was closed early (`paperboy ... | head`): stop quietly, as Unix tools do.
        # Point stdout at /dev/null so the interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by a closed pipe
    except CliError as exc:
        _fail(f"paperboy: {exc}")
        return exc.status
    except (StorageError, ConfigError) as exc:
        log.debug("failed", exc_info=True)
        _fail(f"paperboy: {exc}")
        return EXIT_NOT_FOUND
    except Exception as exc:  # noqa: BLE001 - the edge: a user never sees a traceback
        known = known_error(exc, settings.db_path)
        if known is not None:  # a damaged page or a failing disk met outside the storage layer's checks
            log.debug("failed", exc_info=True)
            _fail(f"paperboy: {known}")
            return EXIT_NOT_FOUND
        log.exception("unexpected error in %s", args.command)
        _fail(f"paperboy: internal error: {exc.__class__.__name__}: {exc} (details in {log_file})")
        return EXIT_INTERNAL
