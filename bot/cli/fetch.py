"""`paperboy fetch` (fetch digests from their sources now, or backfill days) and `paperboy sources`
(each source's health: last success, failures in a row, back-off)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from bot.cli.common import CliContext, CliError, add_json_flag, digest_date_arg, print_json
from storage import fetch_state

if TYPE_CHECKING:  # the sources pull in aiohttp; imported where used so `paperboy --help` stays fast
    from bot.sources.base import Source
    from bot.sources.poller import Poller, SourceOutcome

_SOURCE_HELP = ("hf-daily, arxiv-rss (every configured category) or arxiv-rss:CATEGORY, arxiv-api, inbox "
                "(default: every source enabled in [fetch])")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fetch",
                       description="Fetch each source's digest of today (or --date), or backfill every day "
                                   "from --since to --until (default today); a backfill run again after an "
                                   "interruption resumes where it stopped.")
    p.add_argument("source", nargs="?", metavar="SOURCE", help=_SOURCE_HELP)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--date", type=digest_date_arg, help="fetch this day's digest (YYYY-MM-DD)")
    when.add_argument("--since", type=digest_date_arg, help="backfill from this day (YYYY-MM-DD)")
    p.add_argument("--until", type=digest_date_arg, help="backfill up to this day, included (default: today)")
    add_json_flag(p)
    p.set_defaults(handler=run_fetch)

    p = sub.add_parser("sources")
    add_json_flag(p)
    p.set_defaults(handler=run_sources)


def _select(poller: Poller, name: str | None) -> None:
    from bot.sources.arxiv_rss import ArxivRssSource

    """Keep only the sources `name` picks (all enabled ones when None); CliError if it picks none."""
    if name is None:
        return
    chosen: list[Source] = [s for s in poller.sources if s.name == name or s.name.startswith(name + ":")]
    if not chosen and name.startswith("arxiv-rss:") and len(name) > len("arxiv-rss:"):
        template = next((s for s in poller.sources if isinstance(s, ArxivRssSource)), None)
        base = template.base_url if template else "https://rss.arxiv.org"
        chosen = [ArxivRssSource(name.split(":", 1)[1], base, template.announce_types if template else
                                 frozenset({"new", "cross"}))]
    inbox = poller.inbox if name == "inbox" else None
    if not chosen and inbox is None:
        known = sorted({s.name.split(":")[0] for s in poller.sources} | {"inbox"})
        hint = " (arxiv-api needs arxiv_api_query in [fetch])" if name == "arxiv-api" else ""
        raise CliError(f"unknown source '{name}'{hint}; expected one of: {', '.join(known)}, arxiv-rss:CATEGORY")
    poller.sources, poller.inbox = chosen, inbox


def _line(o: SourceOutcome) -> str:
    when = f" {o.date.isoformat()}" if o.date else ""
    if o.status == "loaded":
        what = f"loaded, {o.papers} papers ({o.new} new" + (f", {o.updated} updated" if o.updated else "") + ")"
    elif o.status == "unchanged":
        what = "unchanged since the last fetch"
    elif o.status == "empty":
        what = "nothing listed (expected on weekends and holidays)"
    elif o.status == "not-yet":
        what = "the feed still holds this earlier day; today's has not appeared yet"
    else:
        what = o.status
    return f"{o.source}{when}: {what}" + (f" - {o.note}" if o.note else "")


def _show(outcome: SourceOutcome) -> None:
    if outcome.status == "failed":
        when = f" {outcome.date.isoformat()}" if outcome.date else ""
        print(f"paperboy: {outcome.source}{when}: {outcome.error}", file=sys.stderr)
    else:
        print(_line(outcome), flush=True)


async def run_fetch(ctx: CliContext) -> int:
    from bot.sources.poller import poller_from

    args = ctx.args
    if args.until is not None and args.since is None:
        raise CliError("--until needs --since (the first day of the range to backfill)")
    db = await ctx.db()
    poller = poller_from(ctx.settings, db, await ctx.loader(), include_disabled=args.source is not None)
    try:
        _select(poller, args.source)
        if not poller.sources and poller.inbox is None:
            raise CliError("no source is enabled: set hf_enabled, arxiv_rss_enabled, arxiv_api_enabled or "
                           "inbox_enabled in [fetch], or name a SOURCE")
        today = poller.policy.today(poller.clock())
        show = None if args.json else _show
        if args.since is not None:
            until = args.until or today
            if args.since > until:
                raise CliError(f"--since {args.since} is after --until {until}")
            outcomes = await poller.backfill(poller.sources, args.since, until, progress=show)
            if not outcomes and not args.json:
                print(f"nothing to fetch: every day from {args.since} to {until} is already done")
        elif args.date is not None:
            outcomes = [await poller.fetch_day(source, args.date) for source in poller.sources]
            for outcome in outcomes if show else ():
                _show(outcome)
        else:
            outcomes = (await poller.poll_once(force=True)).outcomes
            for outcome in outcomes if show else ():
                _show(outcome)
    finally:
        await poller.close()
    if args.json:
        print_json([o.as_json() for o in outcomes])
    return 1 if any(o.status == "failed" for o in outcomes) else 0


async def run_sources(ctx: CliContext) -> int:
    from bot.status.report import enabled_sources, source_json, source_line

    names, problem = enabled_sources(ctx.settings)
    if problem:
        raise CliError(problem)
    statuses = await fetch_state.source_status(await ctx.db(), names)
    now = dt.datetime.now(dt.UTC)
    if ctx.args.json:
        print_json([source_json(s, names, now) for s in statuses])
        return 0
    if not statuses:
        print("no source is enabled or was ever fetched: see [fetch] in config/paperboy.toml")
    for s in statuses:
        print(source_line(s, names, now))
    return 0
