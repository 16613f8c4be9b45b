"""`paperboy similar` and `paperboy recommend`: a paper's nearest neighbours and a user's
recommendations, through the same service as /similar and /recommend (bot/similar/); `paperboy
similar --rebuild` weighs the whole archive again (after an archive import or `migrate-db`)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from bot.cli.common import EXIT_NOT_FOUND, CliContext, CliError, add_json_flag, positive_int, print_json
from bot.cli.community import PAPER_HELP, USER_HELP, community, paper_json, paper_ref, user_arg
from bot.display.titles import shown_title
from bot.similar import Match, SimilarIndex, SimilarService
from bot.similar.service import MAX_DAYS, MAX_NEIGHBOURS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("similar", description="The papers most like PAPER: nearest by TF-IDF of their titles and "
                                              "abstracts (words and word pairs), with the words they share.")
    p.add_argument("paper", metavar="PAPER", nargs="?", help=PAPER_HELP)
    p.add_argument("--limit", type=positive_int, default=10,
                   help=f"at most this many papers (default 10, at most {MAX_NEIGHBOURS})")
    p.add_argument("--rebuild", action="store_true",
                   help="weigh every paper again against the whole archive (instead of PAPER); loads keep the "
                        "index current by themselves, archive imports (the arXiv snapshot) need this")
    add_json_flag(p)
    p.set_defaults(handler=run_similar)

    p = sub.add_parser("recommend", description="Recent papers most like the ones USER saved and voted for "
                                                "(the centroid of their TF-IDF vectors), with the words that "
                                                "weighed most.")
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p.add_argument("--days", type=positive_int, default=7,
                   help=f"papers first listed in the last N days, today included (default 7, at most {MAX_DAYS})")
    p.add_argument("--limit", type=positive_int, default=10,
                   help=f"at most this many papers (default 10, at most {MAX_NEIGHBOURS})")
    add_json_flag(p)
    p.set_defaults(handler=run_recommend)


def _match_json(rank: int, m: Match) -> dict[str, Any]:
    return {"rank": rank, **paper_json(m.paper), "score": m.score, "words": m.words}


def _print(matches: list[Match]) -> None:
    for n, m in enumerate(matches, 1):
        print(f"{n:>3}. {m.score:.3f}  {shown_title(m.paper.title)}  [{paper_ref(m.paper)}]  ({', '.join(m.words)})")


async def run_similar(ctx: CliContext) -> int:
    args = ctx.args
    if args.limit > MAX_NEIGHBOURS:
        raise CliError(f"--limit must be at most {MAX_NEIGHBOURS}, got {args.limit}")
    if args.rebuild:
        if args.paper:
            raise CliError("give PAPER or --rebuild, not both")
        verbose = getattr(args, "verbose", False)
        report = await SimilarIndex(await ctx.db()).rebuild(
            lambda what, n: print(f"{what} {n:,} papers", file=sys.stderr) if verbose else None)
        if args.json:
            print_json({"papers": report.papers, "terms": report.terms})
        else:
            print(f"{report.papers:,} papers weighed; {report.terms:,} terms in the vocabulary")
        return 0
    if not args.paper:
        raise CliError("similar needs PAPER (or --rebuild)")
    async with community(ctx, titles=True) as service:
        paper = await service.find_paper(args.paper)
        similar = SimilarService(service.db)
        matches = await similar.neighbours(paper, args.limit)
        found = await similar.coverage()
    if args.json:
        print_json([_match_json(n, m) for n, m in enumerate(matches, 1)])
        return 0
    if not found.complete:
        print(f"the index is incomplete: {found.text()} (a running bot weighs the rest; or --rebuild)",
              file=sys.stderr)
    if not matches:
        print(f"nothing in the archive is like {shown_title(paper.title)} [{paper_ref(paper)}]")
        return EXIT_NOT_FOUND
    print(f"like {shown_title(paper.title)} [{paper_ref(paper)}]:")
    _print(matches)
    return 0


async def run_recommend(ctx: CliContext) -> int:
    args = ctx.args
    if args.days > MAX_DAYS:
        raise CliError(f"--days must be at most {MAX_DAYS}, got {args.days}")
    if args.limit > MAX_NEIGHBOURS:
        raise CliError(f"--limit must be at most {MAX_NEIGHBOURS}, got {args.limit}")
    user = user_arg(args.user)
    found = await SimilarService(await ctx.db()).recommend(user, today=dt.datetime.now(dt.UTC).date(),
                                                            days=args.days, limit=args.limit)
    if args.json:
        print_json([_match_json(n, m) for n, m in enumerate(found.matches, 1)])
        return 0
    if not found.seeds:
        print(f"{user} has saved and voted for no papers: recommendations are made from them")
        return EXIT_NOT_FOUND
    if not found.matches:
        print(f"nothing of the last {args.days} days is like the {found.seeds} papers {user} saved and voted for")
        return EXIT_NOT_FOUND
    print(f"for {user}, from {found.candidates:,} papers of the last {args.days} days, like the {found.seeds} "
          "they saved and voted for:")
    _print(found.matches)
    return 0
