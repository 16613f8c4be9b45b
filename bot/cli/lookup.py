"""`paperboy paper QUERY`: find a paper from its title as remembered (typos, fragments, short name)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import EXIT_NOT_FOUND, CliContext, CliError, add_json_flag, positive_int, print_json
from bot.display.titles import shown_title
from bot.lookup.service import LookupHit, LookupService, hit_json

MAX_LIMIT = 100


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "paper",
        description="Find papers whose title resembles QUERY: typos, missing or reordered words, a fragment, "
                    "the short name before the colon, or an arXiv id/URL. QUERY '-' reads one query per line "
                    "from standard input.")
    p.add_argument("query", metavar="QUERY", help="what you remember of the title ('-': one query per line on stdin)")
    p.add_argument("--limit", type=positive_int, default=5, help="at most this many papers (default: 5)")
    add_json_flag(p)
    p.set_defaults(handler=run_paper)



def _print_hits(query: str, hits: list[LookupHit], *, header: bool) -> None:
    if header:
        print(f"== {query}")
    if not hits:
        print(f"no paper resembles '{query}'")
    for hit in hits:
        ref = hit.arxiv_id or f"id:{hit.paper_id}"
        listed = hit.first_listed.isoformat() if hit.first_listed else "-"
        print(f"{hit.score:5.1f}  {shown_title(hit.title)}  [{ref}, listed {listed}]")


async def run_paper(ctx: CliContext) -> int:
    args = ctx.args
    if args.limit > MAX_LIMIT:
        raise CliError(f"--limit must be at most {MAX_LIMIT}, got {args.limit}")
    batch = args.query == "-"
    if not batch and not args.query.strip():
        raise CliError("QUERY is empty: give part of a title, a short name, or an arXiv id")
    service = LookupService(await ctx.db())
    await service.start()
    try:  # closed: on PostgreSQL the service listens on a connection of its own
        found_any = await _answer(service, args, batch)
    finally:
        await service.close()
    # As `search` and `digest`: 1 when nothing was found (for several queries: by any of them).
    return 0 if found_any else EXIT_NOT_FOUND


async def _answer(service: LookupService, args: argparse.Namespace, batch: bool) -> bool:
    """Print the hits of each query; whether any query found something."""
    queries = (line.rstrip("\r\n") for line in sys.stdin) if batch else iter([args.query])
    found_any = False
    for query in queries:
        hits = await service.lookup(query, args.limit)
        found_any = found_any or bool(hits)
        if args.json:
            print_json({"query": query, "hits": [hit_json(h) for h in hits]})
        else:
            _print_hits(query, hits, header=batch)
        sys.stdout.flush()
    return found_any
