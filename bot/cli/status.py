"""`paperboy status`: what `/status` shows a server admin, for the operator's terminal or a
monitoring script (`--json`): the archive, the digest sources' health, what waits to be sent,
what failed, the processes running (host, pid, shards, heartbeat age, the leases each holds), and
with `--guild` that server's daily post."""

from __future__ import annotations

import argparse
import datetime as dt

from bot.cli.common import CliContext, add_json_flag, print_json
from bot.status.report import gather, sections, when


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status")
    p.add_argument("--guild", metavar="SERVER", help='also this server\'s daily post ("discord:123")')
    add_json_flag(p)
    p.set_defaults(handler=run_status)


async def run_status(ctx: CliContext) -> int:
    """Exit status 1 when something needs attention (a failed post or notification, a failing
    source), so a cron job or monitor can alert on it."""
    db = await ctx.db()
    report = await gather(db, ctx.settings, now=dt.datetime.now(dt.UTC), guild_id=ctx.args.guild)
    # Which backend and where: for the operator only (never in /status, where server admins would
    # see a host name or a path). `location` never holds a password.
    database = {"backend": db.backend, "location": db.location}
    if ctx.args.json:
        print_json({"database": database, **report.to_json(),
                    **({"guild": ctx.args.guild} if ctx.args.guild else {})})
    else:
        print(f"Paperboy status, as of {when(report.now)}")
        print(f"\nDatabase\n  {db.backend} at {db.location}")
        for name, text in sections(report, operator=True):
            print(f"\n{name}\n  " + text.replace("\n", "\n  "))
    failing = any(s.consecutive_failures for s in report.sources if s.source in report.enabled_sources)
    return 1 if report.failed_posts or report.failed_notifications or failing or report.sources_problem else 0
