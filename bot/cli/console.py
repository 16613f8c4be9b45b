"""`paperboy console`: every chat command in a terminal, as any user, with a simulated clock.

Interactive on a terminal (prompt_toolkit: history, and Tab completion that lists titles); with standard input from a
file or a pipe, one command per line, each reply printed, until the end of the input.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import re
import sys

from bot.app import App
from bot.cli.common import CliContext, CliError
from bot.ingest.load import IngestOptions, ingest
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from bot.schedule.clock import ManualClock, system_clock
from bot.transports.console import Session, history_path, run
from bot.transports.console_render import ConsoleOutbound
from storage import digests as digest_repo

# On a fresh database the sample digest is loaded as if it arrived early on its own day, so the
# simulated clock can be ticked to a morning post time and the daily post goes out.
SAMPLE_ARRIVAL = dt.datetime.combine(SAMPLE_DATE, dt.time(5, 0), tzinfo=dt.UTC)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("console",
                       description="An interactive prompt running the chat commands: /search diffusion, "
                                   "/paper TITLE, /digest, /subscribe TOPIC, /setup ... (/help lists them). "
                                   "Reads one command per line when standard input is not a terminal.")
    add_console_options(p)
    p.add_argument("--sample", action="store_true", help="load the bundled sample digest first")
    p.set_defaults(handler=run_console)


def add_console_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", metavar="NAME", help="act as this user (default: your login name)")
    p.add_argument("--admin", action="store_true", help="act with server-admin rights (/setup, /ingest, /status)")
    p.add_argument("--clock", metavar="TIME", type=_instant,
                   help="start the simulated clock here (ISO time; default: when the latest digest arrived)")


def _instant(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a time like 2025-09-09T08:00+02:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _default_user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "you"
    name = re.sub(r"[^\w.\-]", "", name)[:32]
    return name or "you"


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def run_console(ctx: CliContext) -> int:
    return await start_console(ctx, load_sample=True if ctx.args.sample else None)


async def start_console(ctx: CliContext, *, load_sample: bool | None, admin: bool | None = None) -> int:
    """The console on the configured database. `load_sample`: True loads the sample digest,
    None offers it on an empty archive (interactive only)."""
    args = ctx.args
    user = args.user or _default_user()
    if not re.fullmatch(r"[\w.\-]{1,32}", user):
        raise CliError(f"--user '{user}' must be 1-32 letters, digits, . - or _")
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    clock = ManualClock(args.clock or system_clock())
    app = await App.open(ctx.settings, ConsoleOutbound(_print), clock=clock, platform="console")
    try:
        latest = await digest_repo.find_digest(app.db)
        if latest is None and load_sample is None and interactive:
            answer = await asyncio.to_thread(
                input, f"The archive is empty. Load the bundled sample digest ({SAMPLE_DATE})? [Y/n] ")
            load_sample = answer.strip().casefold() in ("", "y", "yes")
        if load_sample:
            if latest is None and args.clock is None:
                clock.set(SAMPLE_ARRIVAL)
            outcome = await ingest(app.loader, str(SAMPLE_DIGEST), IngestOptions(date=SAMPLE_DATE,
                                                                                  today=clock().date()))
            if not outcome.ok:
                raise CliError(f"could not load the sample digest: {outcome.error}", status=1)
            for d in outcome.digests:
                state = "already stored" if d.unchanged else f"{d.new} new"
                _print(f"Sample digest: {d.source} {d.date.isoformat()}, {d.papers} papers ({state}).")
            latest = await digest_repo.find_digest(app.db)
        elif latest is None:
            _print("The archive is empty: load a digest with /ingest (as an admin), or start with --sample.")
        if latest is not None and args.clock is None:
            clock.set(latest.fetched_at)
        session = Session(app, clock, _print, user=user, admin=args.admin if admin is None else admin)
        if interactive:
            _print(f"Paperboy console: you are {user}{' (server admin)' if session.admin else ''} in server "
                   f"console:lab; simulated time {clock().strftime('%Y-%m-%d %H:%M UTC')}.\n"
                   "Try /help, /digest, /search diffusion, /paper <Tab>. /quit or Ctrl-D to leave.")
        return await run(session, sys.stdin, interactive=interactive,
                         history=history_path(ctx.settings.db_path) if interactive else None)
    finally:
        await app.close()
