"""`paperboy vote`, `top`, `library`: votes, a server's most voted papers, and users' libraries,
for scripts and the operator, through the same service as the chat commands (bot/community/)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.cli.common import EXIT_NOT_FOUND, CliContext, CliError, add_json_flag, date_arg, positive_int, print_json
from bot.community import CommunityError, CommunityService, export, top
from bot.display.titles import shown_title
from bot.lookup.service import LookupService
from bot.schedule.settings import ScheduleError, parse_target
from bot.subscriptions.topics import SubscriptionError, parse_user
from storage.records import StoredPaper

CONSOLE_SERVER = "console:lab"  # the console's server: what `paperboy vote` does shows in the console
PAPER_HELP = "the paper: id:N, an arXiv id or URL, arxiv:ID, or part of its title (as `paperboy paper` finds it)"
USER_HELP = "user id: discord:123 (bare digits mean Discord) or console:NAME"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("vote", description="Vote for a paper as a member of a server (one vote per member per "
                                           "paper per server), or take the vote back with --undo.")
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p.add_argument("paper", metavar="PAPER", help=PAPER_HELP)
    p.add_argument("--server", default=CONSOLE_SERVER,
                   help=f"the server the vote counts in: discord:123 or console:NAME (default {CONSOLE_SERVER})")
    p.add_argument("--undo", action="store_true", help="take the vote back")
    add_json_flag(p)
    p.set_defaults(handler=run_vote)

    p = sub.add_parser("top", description="The most voted papers, blended with the source's upvotes: "
                                          "score = votes + log10(1 + upvotes) (docs/cli.md).")
    p.add_argument("--server", help="one server's votes (discord:123 or console:NAME); default: every server's")
    p.add_argument("--since", type=date_arg,
                   help="votes cast and digests dated on or after this day (default: the last 7 days)")
    p.add_argument("--all", action="store_true", help="all time (instead of --since)")
    p.add_argument("--limit", type=positive_int, default=top.DEFAULT_LIMIT,
                   help=f"at most this many papers (default {top.DEFAULT_LIMIT}, at most {top.MAX_LIMIT})")
    add_json_flag(p)
    p.set_defaults(handler=run_top)

    p = sub.add_parser("library", description="A user's saved papers: list them, add or remove one, or export "
                                              "them as BibTeX, CSV or JSON Lines.")
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p.add_argument("action", nargs="?", choices=("list", "add", "remove", "export"), default="list",
                   help="what to do (default: list)")
    p.add_argument("paper", metavar="PAPER", nargs="?", help=f"for add and remove: {PAPER_HELP}")
    p.add_argument("--format", choices=export.FORMATS, default="bibtex", help="for export (default: bibtex)")
    p.add_argument("--output", "-o", metavar="FILE", help="for export: write to FILE (default: standard output)")
    add_json_flag(p)
    p.set_defaults(handler=run_library)


@asynccontextmanager
async def community(ctx: CliContext, *, titles: bool) -> AsyncIterator[CommunityService]:
    """The service; `titles`: with the title index started, for a PAPER given as a title."""
    db = await ctx.db()
    lookup = LookupService(db)
    if titles:
        await lookup.start()
    try:
        yield CommunityService(db, lookup)
    except CommunityError as exc:
        raise CliError(str(exc), status=EXIT_NOT_FOUND) from None
    finally:
        await lookup.close()


def user_arg(text: str) -> str:
    try:
        return parse_user(text)
    except SubscriptionError as exc:
        raise CliError(str(exc)) from None


def _server(text: str) -> str:
    try:
        return parse_target(text, "server")
    except ScheduleError as exc:
        raise CliError(str(exc)) from None


def paper_json(paper: StoredPaper) -> dict[str, Any]:
    return {"paper_id": paper.id, "arxiv_id": paper.arxiv_id, "title": shown_title(paper.title)}


def paper_ref(paper: StoredPaper) -> str:
    return paper.arxiv_id or f"id:{paper.id}"


async def run_vote(ctx: CliContext) -> int:
    args = ctx.args
    user, server = user_arg(args.user), _server(args.server)
    async with community(ctx, titles=True) as service:
        paper = await service.find_paper(args.paper)
        outcome = await service.vote(server, user, paper.id, now=dt.datetime.now(dt.UTC), want=not args.undo)
    if args.json:
        print_json({**paper_json(paper), "server": server, "user": user, "voted": outcome.voted,
                    "changed": outcome.changed, "votes": outcome.count})
        return 0
    done = ("voted for" if outcome.changed else "had already voted for") if outcome.voted else \
        ("took back the vote for" if outcome.changed else "had no vote for")
    print(f"{user} {done} {shown_title(paper.title)} [{paper_ref(paper)}] in {server}: "
          f"{outcome.count} vote{'s' if outcome.count != 1 else ''}")
    return 0


async def run_top(ctx: CliContext) -> int:
    args = ctx.args
    if args.limit > top.MAX_LIMIT:
        raise CliError(f"--limit must be at most {top.MAX_LIMIT}, got {args.limit}")
    if args.all and args.since:
        raise CliError("give --since or --all, not both")
    server = _server(args.server) if args.server else None
    if args.all:
        since = None
    elif args.since:
        since = dt.datetime.combine(args.since, dt.time(), dt.UTC)
    else:
        since = top.period_start("week", dt.datetime.now(dt.UTC))
    async with community(ctx, titles=False) as service:
        entries = await service.top(server, since, args.limit)
    if args.json:
        print_json([{"rank": n, **paper_json(e.paper), "votes": e.votes, "upvotes": e.upvotes,
                     "score": round(e.score, 4)} for n, e in enumerate(entries, 1)])
        return 0
    if not entries:
        print("nothing voted for or upvoted in that period")
        return EXIT_NOT_FOUND
    for n, e in enumerate(entries, 1):
        upvotes = f", {e.upvotes} upvotes" if e.upvotes is not None else ""
        votes = f"{e.votes} vote{'s' if e.votes != 1 else ''}"
        print(f"{n:>3}. {e.score:6.2f}  {shown_title(e.paper.title)}  [{paper_ref(e.paper)}; {votes}{upvotes}]")
    return 0


async def run_library(ctx: CliContext) -> int:
    args = ctx.args
    user = user_arg(args.user)
    if args.action in ("add", "remove") and not args.paper:
        raise CliError(f"library {args.action} needs PAPER: {PAPER_HELP}")
    if args.action in ("list", "export") and args.paper:
        raise CliError(f"library {args.action} takes no PAPER")
    async with community(ctx, titles=args.action in ("add", "remove")) as service:
        if args.action == "export":
            items = await service.library_items(user)
            text = export.render(items, args.format)
            if args.output:
                with open(args.output, "w", encoding="utf-8", newline="") as out:
                    out.write(text)
                print(f"{len(items)} papers written to {args.output} ({args.format})", file=sys.stderr)
            else:
                sys.stdout.write(text)
            return 0
        if args.action in ("add", "remove"):
            paper = await (service.find_saved_paper(user, args.paper) if args.action == "remove"
                           else service.find_paper(args.paper))
            outcome = await service.save(user, paper.id, now=dt.datetime.now(dt.UTC), want=args.action == "add")
            if args.json:
                print_json({**paper_json(paper), "user": user, "saved": outcome.saved, "changed": outcome.changed,
                            "papers": outcome.size})
            else:
                done = {(True, True): "saved", (True, False): "already had",
                        (False, True): "removed", (False, False): "did not have"}[(outcome.saved, outcome.changed)]
                print(f"{user} {done} {shown_title(paper.title)} [{paper_ref(paper)}] ({outcome.size} saved)")
            return 0
        items = await service.library_items(user)
    if args.json:
        print_json([{**paper_json(i.paper), "saved_at": i.saved_at} for i in items])
        return 0
    if not items:
        print(f"{user} has saved no papers")
    for i in items:
        saved = i.saved_at.date().isoformat() if i.saved_at else "-"
        print(f"{saved}  {shown_title(i.paper.title)}  [{paper_ref(i.paper)}]")
    return 0
