"""/search: keyword search with snippets, five results a page, Previous/Next buttons.

A page button's action carries the whole search ("search:<page>:<since>:<until>:<query>", at
most 100 characters), so it works after a restart. Page n is served by one search for the first
n pages (at most 100 results, 20 pages), so no cursor needs to fit in the button.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from bot.chat import limits
from bot.chat.replies import Button, Card, Reply
from bot.commands.context import Context
from bot.commands.errors import NotFound, UsageError
from bot.commands.options import parse_date
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from bot.community.actions import save_action
from bot.search.service import SearchFilters, SearchHit, listing_dates, mark, search
from bot.summary.render import url_ok
from storage.search.fts import MAX_LIMIT

PER_PAGE = 5
MAX_PAGES = MAX_LIMIT // PER_PAGE
MAX_QUERY = 300
_ACTION = re.compile(r"^search:(\d{1,3}):(\d{8})?:(\d{8})?:(.+)$", re.DOTALL)
_TITLE_LIMIT = 220
_SNIPPET_LIMIT = 360


def _safe(text: str) -> str:
    return limits.safe(re.sub(r"\s+", " ", text))


def _hit_lines(n: int, hit: SearchHit) -> str:
    title = mark(hit.title, "__", "__", _safe) if len(hit.title.text) <= _TITLE_LIMIT \
        else limits.safe(hit.title.text, _TITLE_LIMIT)
    dates = ", ".join(d.isoformat() for d in listing_dates(hit)[-3:]) or hit.first_listed.isoformat()
    facts = [dates] + ([f"arXiv {hit.arxiv_id}"] if hit.arxiv_id else [])
    link = hit.links.get("arxiv") or next(iter(hit.links.values()), None)
    if url_ok(link):
        facts.append(f"[link]({link})")
    lines = [f"**{n}.** {title or '(untitled)'}", " · ".join(facts)]
    if hit.snippet.text:
        snippet = mark(hit.snippet, "**", "**", _safe) if len(hit.snippet.text) <= _SNIPPET_LIMIT \
            else limits.safe(hit.snippet.text, _SNIPPET_LIMIT)
        lines.append(f"> {snippet}")
    return "\n".join(lines)


def _compact(day: dt.date | None) -> str:
    return day.strftime("%Y%m%d") if day else ""


def page_action(page: int, query: str, since: dt.date | None, until: dt.date | None) -> str | None:
    """The button action for a page of this search; None when the query is too long to carry."""
    action = f"search:{page}:{_compact(since)}:{_compact(until)}:{query}"
    return action if len(action) <= limits.CUSTOM_ID else None


async def _page(ctx: Context, text: str, since: dt.date | None, until: dt.date | None, page: int) -> Reply:
    if not text.strip():
        raise UsageError("/search needs something to look for, like: diffusion models")
    if len(text) > MAX_QUERY:
        raise UsageError(f"the query is {len(text)} characters long; at most {MAX_QUERY} please")
    if not 1 <= page <= MAX_PAGES:
        raise NotFound(f"there is no page {page} (pages go up to {MAX_PAGES}; refine the search for more)")
    filters = SearchFilters(since=since, until=until)
    result = await search(ctx.services.db, text, filters, limit=page * PER_PAGE)
    hits = result.hits[(page - 1) * PER_PAGE:]
    span = "".join([f" since {since.isoformat()}" if since else "", f" until {until.isoformat()}" if until else ""])
    if not result.hits:
        return Reply(text=limits.safe(f"No papers match {result.query}{span}.", limits.CONTENT), private=True)
    if not hits:
        raise NotFound(f"there is no page {page}: {result.count_text} papers match")
    first = (page - 1) * PER_PAGE + 1
    body = "\n\n".join(_hit_lines(n, h) for n, h in enumerate(hits, first))
    heading = f"{result.count_text} papers match {result.query}{span}"
    more = result.next_cursor is not None or result.count > page * PER_PAGE
    # ☆ n saves result n to the presser's library (bot/community/actions.py).
    buttons = [Button(f"☆ {n}", action=save_action(h.paper_id)) for n, h in enumerate(hits, first)]
    previous = page_action(page - 1, result.query, since, until) if page > 1 else None
    following = page_action(page + 1, result.query, since, until) if more and page < MAX_PAGES else None
    if previous:
        buttons.append(Button("◀ Previous", action=previous))
    if following:
        buttons.append(Button("Next ▶", action=following))
    footer = f"Results {first}–{first + len(hits) - 1} · page {page} · ☆ n saves result n to your library"
    if more and not following:
        footer += " · refine the search to see more"
    card = Card(title=limits.safe(heading, limits.EMBED_TITLE), description=limits.truncate(body, 4000),
                footer=footer)
    return Reply(cards=[card], buttons=buttons)


async def run_search(ctx: Context, options: Mapping[str, Any]) -> Reply:
    since = parse_date(options.get("since"), "since")
    until = parse_date(options.get("until"), "until")
    if since and until and since > until:
        raise UsageError(f"since {since.isoformat()} is after until {until.isoformat()}")
    return await _page(ctx, str(options["query"]), since, until, 1)


async def press_page(ctx: Context, action: str) -> Reply:
    m = _ACTION.match(action)
    if not m:
        raise NotFound("that button belongs to a search this version cannot read; search again")
    page, since, until, query = m.groups()
    return await _page(ctx, query, _day(since), _day(until), int(page))


def _day(compact: str | None) -> dt.date | None:
    if not compact:
        return None
    try:
        return dt.datetime.strptime(compact, "%Y%m%d").date()
    except ValueError:
        raise NotFound("that button's search has a date this version cannot read; search again") from None


SPECS = (
    CommandSpec(
        "search", "Search paper titles and abstracts (\"exact phrase\", -exclude, OR, prefix*, title:word)",
        options=(
            OptionSpec("query", OptionType.STRING, "What to look for, e.g. diffusion models", required=True,
                       max_length=MAX_QUERY),
            OptionSpec("since", OptionType.STRING, "Only papers listed on or after this date (YYYY-MM-DD)",
                       max_length=10),
            OptionSpec("until", OptionType.STRING, "Only papers listed on or before this date (YYYY-MM-DD)",
                       max_length=10),
        ),
        handler=run_search,
    ),
)
ACTIONS = {"search": press_page}
