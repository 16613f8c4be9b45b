"""`paperboy demo`: the quick start's main job on the embedded default, no token needed: the
console (bot.cli.console) with the bundled sample digest loaded, acting as a server admin."""

from __future__ import annotations

import argparse

from bot.cli.common import CliContext
from bot.cli.console import add_console_options, start_console


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo",
                       description="Load the bundled sample digest (144 papers) and start the console as a "
                                   "server admin: try /digest, /search, /paper, /subscribe, /setup, /tick.")
    add_console_options(p)
    # Its own database (demo.db beside the default one) unless --db names one: what the demo
    # loads and schedules stays out of the database `paperboy run` uses.
    p.set_defaults(handler=run_demo, own_database="demo.db")


async def run_demo(ctx: CliContext) -> int:
    return await start_console(ctx, load_sample=True, admin=True)
