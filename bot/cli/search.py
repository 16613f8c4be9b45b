"""`paperboy search`: keyword search from the terminal, one query or one per line of stdin."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from bot.cli.common import EXIT_NOT_FOUND, CliContext, add_json_flag, date_arg, positive_int, print_json
from bot.search.service import QueryError, SearchFilters, SearchResult, listing_dates, mark, result_json, search
from storage.db import Database

_HELP = """\
query language:
  diffusion models        papers with both words (stemmed: "model" finds "models")
  "vision transformer"    the exact phrase
  llm -survey             exclude papers mentioning a word (or a -"phrase")
  lora OR adapter         either word
  quantiz*                words starting with a prefix
  title:agent             only in titles (also title:"a phrase")
anything else is searched as plain words. QUERY - reads one query per line from stdin.
A query that starts with an exclusion works as it is ('-survey llm', -survey), or after --:
  paperboy search -- -survey
matches are bold on a terminal and plain when piped (--color always|never to choose).
"""


_DEFAULT_LIMIT = 10


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("search",
                       description="Search stored papers; best matches first (relevance balanced with recency).",
                       epilog=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", metavar="QUERY", help="what to look for; - reads one query per line from stdin")
    p.add_argument("--since", type=date_arg, help="only papers listed on or after this date")
    p.add_argument("--until", type=date_arg, help="only papers listed on or before this date")
    p.add_argument("--date", type=date_arg, help="only papers listed in a digest of this date")
    p.add_argument("--source", help="only papers listed by this source (e.g. hf-daily)")
    p.add_argument("--limit", type=positive_int, default=_DEFAULT_LIMIT,
                   help="results per page (default 10, at most 100)")
    p.add_argument("--cursor", help="continue from a previous page's next cursor (the 'more:' line gives it)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="bold matches: on a terminal (auto, the default), always, or never")
    add_json_flag(p)
    p.set_defaults(handler=run_search)



def result_text(text: str, result: SearchResult, *, bold: bool, offset: int = 0, more: str = "") -> str:
    """`bold`: matches in bold (terminal escapes), else plain. `more`: the options to repeat in
    the "more:" hint (filters and page size), so that following it continues this search."""
    open_, close = ("\033[1m", "\033[0m") if bold else ("", "")
    if not result.hits:
        return f"no papers match {result.query}"
    lines = [f"{result.count_text} papers match {result.query}"]
    for n, h in enumerate(result.hits, start=offset + 1):
        dates = ", ".join(d.isoformat() for d in listing_dates(h)) or h.first_listed.isoformat()
        ident = f"  arXiv {h.arxiv_id}" if h.arxiv_id else ""
        lines.append(f"{n:>3}. {mark(h.title, open_, close)}")
        lines.append(f"     {dates}{ident}  score {h.score:.2f}")
        if h.snippet.text:
            lines.append(f"     {mark(h.snippet, open_, close)}")
        link = h.links.get("arxiv") or next(iter(h.links.values()), None)
        if link:
            lines.append(f"     {link}")
    if result.next_cursor:
        lines.append(f"more: paperboy search{more} --cursor {result.next_cursor} {_shell_quote(text)}")
    return "\n".join(lines)


def _shell_quote(text: str) -> str:
    quoted = "'" + text.replace("'", "'\"'\"'") + "'"
    return f"-- {quoted}" if text.startswith("-") else quoted


def _repeated_options(args: argparse.Namespace) -> str:
    """The options that shape a search's pages, as typed again after `paperboy search QUERY`."""
    parts = [f" --{name} {value}" for name in ("since", "until", "date") if (value := getattr(args, name))]
    if args.source:
        parts.append(f" --source {shlex.quote(args.source)}")
    if args.limit != _DEFAULT_LIMIT:
        parts.append(f" --limit {args.limit}")
    return "".join(parts)


def use_color(choice: str) -> bool:
    """grep's rule: `auto` is colour on a terminal only (and not when NO_COLOR is set)."""
    if choice == "auto":
        return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return choice == "always"


async def _answer(db: Database, text: str, ctx: CliContext, filters: SearchFilters) -> bool | None:
    """Print one query's answer; True when it found something, None when the query is bad."""
    args = ctx.args
    try:
        result = await search(db, text, filters, limit=args.limit, cursor=args.cursor)
    except QueryError as exc:
        if args.json:
            print_json({"query": text, "error": str(exc)})
        else:
            print(f"paperboy: {exc}", file=sys.stderr)
        return None
    if args.json:
        print_json(result_json(text, result))
    else:
        print(result_text(text, result, bold=use_color(args.color), more=_repeated_options(args)))
    sys.stdout.flush()
    return bool(result.hits)


async def run_search(ctx: CliContext) -> int:
    args = ctx.args
    filters = SearchFilters(since=args.since, until=args.until, date=args.date, source=args.source)
    db = await ctx.db()
    queries = (line.rstrip("\r\n") for line in sys.stdin) if args.query == "-" else iter([args.query])
    answers = []
    for n, query in enumerate(queries):
        if n and not args.json:
            print()
        answers.append(await _answer(db, query, ctx, filters))
    # As `paper` and `digest`: 1 when nothing was found (for several queries: by any of them),
    # or when a query could not be read.
    return 0 if any(answers) and None not in answers else EXIT_NOT_FOUND
