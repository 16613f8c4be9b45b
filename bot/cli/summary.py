"""`paperboy digest`: a digest's daily summary, as it would be posted (plain text or JSON)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import CliContext, CliError, add_json_flag, date_arg, positive_int, print_json
from bot.summary import compose, render_text, to_json
from storage import digests as digest_repo


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("digest",
                       description="The daily summary of one digest as it would be posted: header, themes of "
                                   "the day, highlights with takeaways and figures, and every paper by theme.")
    p.add_argument("--date", type=date_arg, help="the digest of this day (YYYY-MM-DD; default: the latest)")
    p.add_argument("--source", help="the digest from this source (default: the largest that day)")
    p.add_argument("--highlights", type=positive_int, default=5, metavar="N",
                   help="how many papers to highlight (default: %(default)s)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--text", action="store_true", help="plain text (the default)")
    add_json_flag(p, out)
    p.set_defaults(handler=run_digest)


async def run_digest(ctx: CliContext) -> int:
    args = ctx.args
    db = await ctx.db()
    # A day asked for by date is shown even when empty; the latest is the latest with papers.
    digest = await digest_repo.find_digest(db, date=args.date, source=args.source, empty=args.date is not None)
    if digest is None:
        what = " ".join(x for x in (args.source and f"from {args.source}",
                                     args.date and f"for {args.date.isoformat()}") if x)
        raise CliError(f"no digest {what or 'stored yet'}: list them with `paperboy digests`, "
                       "load one with `paperboy ingest`", status=1)
    summary = await compose(db, digest, highlights=args.highlights)
    if args.json:
        print_json(to_json(summary))
    else:
        sys.stdout.write(render_text(summary))
    return 0
