"""The HTML pages: home (the latest digest), a digest, the calendar, a paper, search, title look-up.

Each page is built from the same transport-free code as the chat commands: the daily summary
(bot.summary, composed once per digest through the shared cache), search (bot.search.service), the title
look-up (bot.lookup) and the paper card's facts (bot.commands.lookup). Every page works without
JavaScript; bot/web/static/suggest.js only adds as-you-type title suggestions.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web

from bot.commands.lookup import paper_facts
from bot.display import addresses
from bot.lookup.reference import find_by_reference, find_listed
from bot.search.service import SearchFilters, search
from bot.summary.compose import Summary
from bot.web import params
from bot.web.params import BadRequest, PageNotFound
from bot.web.view import SERVICES, render
from storage import archive_calendar
from storage import digests as digest_repo
from storage.archive_calendar import DigestDay
from storage.papers import ListedPaper
from storage.records import DigestInfo, StoredPaper
from storage.search.fts import MAX_LIMIT

T = TypeVar("T")
PER_PAGE = 10
MAX_PER_PAGE = 50
LOOKUP_HITS = 10
SETTLED_CACHE = "public, max-age=300"  # a past day's digest, a paper: change only when a load adds to them
SOON = "public, max-age=30"  # a paper page without its close matches: built again once they are found


@dataclass(frozen=True, slots=True)
class DigestView:
    """What a digest page shows beside the summary: the day's other sources and the days around it."""

    summary: Summary
    digest: DigestInfo
    same_day: list[DigestDay]
    previous: dt.date | None
    following: dt.date | None


async def _digest_view(request: web.Request, digest: DigestInfo) -> DigestView:
    services = request.app[SERVICES]
    summary = await services.summaries.get(services.db, digest)
    same_day = await archive_calendar.digest_days(services.db, digest.date, digest.date, archive_imports=True)
    previous, following = await archive_calendar.adjacent_days(services.db, digest.date)
    return DigestView(summary, digest, same_day, previous, following)


async def home(request: web.Request) -> web.Response:
    db = request.app[SERVICES].db
    digest = await digest_repo.find_digest(db)
    if digest is None:
        return render(request, "home.html", view=None)
    return render(request, "home.html", view=await _digest_view(request, digest))


async def digest_page(request: web.Request) -> web.Response:
    day = params.parse_day(request.match_info["date"], "the date")
    source = params.text(request.query, "source", limit=params.MAX_SOURCE).strip() or None
    digest = await digest_repo.find_digest(request.app[SERVICES].db, date=day, source=source, empty=True)
    if digest is None:
        what = f" from {source}" if source else ""
        raise PageNotFound(f"There is no digest{what} for {day.isoformat()}.")
    cache = SETTLED_CACHE if day < request.app[SERVICES].clock().date() else "public, max-age=60"
    return render(request, "digest.html", view=await _digest_view(request, digest), cache=cache)


@dataclass(frozen=True, slots=True)
class MonthView:
    first: dt.date
    weeks: list[list[tuple[dt.date | None, list[DigestDay]]]]  # Monday first; None pads the edges
    previous: dt.date | None
    following: dt.date | None


async def calendar_page(request: web.Request) -> web.Response:
    db = request.app[SERVICES].db
    months = await archive_calendar.digest_months(db)
    asked = params.text(request.query, "month", limit=7).strip()
    if asked:
        try:
            first = dt.datetime.strptime(asked, "%Y-%m").date()
        except ValueError:
            raise BadRequest(f"month '{asked}' is not a month like 2025-09") from None
    elif months:
        first = months[0].first_day
    else:
        return render(request, "calendar.html", months=months, view=None)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    days = await archive_calendar.digest_days(db, first, last)
    by_day: dict[dt.date, list[DigestDay]] = {}
    for d in days:
        by_day.setdefault(d.date, []).append(d)
    weeks = [[(day if day.month == first.month else None, by_day.get(day, [])) for day in week]
             for week in calendar.Calendar().monthdatescalendar(first.year, first.month)]
    firsts = [m.first_day for m in months]
    view = MonthView(first, weeks, max((f for f in firsts if f < first), default=None),
                     min((f for f in firsts if f > first), default=None))
    return render(request, "calendar.html", months=months, view=view)


def _reference(request: web.Request) -> str:
    """What a /papers/… address names (an arXiv id or URL, id:N); 400 when too long to be one."""
    ref: str = request.match_info["ref"]
    if len(ref) > 100:
        raise BadRequest("that paper address is too long to be one")
    return ref


def _found(ref: str, found: T | None) -> T:
    if found is None:
        raise PageNotFound(f"The archive has no paper {ref}. Try the search, or find it by its title.")
    return found


async def resolve_paper(request: web.Request) -> StoredPaper:
    """The paper a /papers/… address names; 404 when the archive has none."""
    ref = _reference(request)
    return _found(ref, await find_by_reference(request.app[SERVICES].db, ref, bare_number=False))


async def resolve_listed(request: web.Request) -> ListedPaper:
    """As resolve_paper, with the digests that listed the paper (read in the same trip)."""
    ref = _reference(request)
    return _found(ref, await find_listed(request.app[SERVICES].db, ref, bare_number=False))


async def paper_page(request: web.Request) -> web.Response:
    listed = await resolve_listed(request)
    paper = listed.paper
    canonical = addresses.paper_path(paper.arxiv_id, paper.id)
    if request.path != canonical:  # "2401.15024v2", an arXiv URL, id:N of a paper with an arXiv id
        raise web.HTTPMovedPermanently(canonical)
    services = request.app[SERVICES]
    # Close matches only when kept (bot/lookup/close.py): else the page links to them and its
    # script fetches them, rather than every reader waiting for a title search behind the others'.
    close = await services.lookup.close_matches.get(paper, find=False)
    return render(request, "paper.html", facts=paper_facts(listed), close=close,
                  cache=SETTLED_CACHE if close is not None else SOON,
                  close_path=request.app.router["api-close"].url_for(ref=request.match_info["ref"]))


async def lookup_page(request: web.Request) -> web.Response:
    """/papers?title=…: the paper a title names (a redirect to its page), or the closest titles."""
    title = params.text(request.query, "title", limit=params.MAX_QUERY).strip()
    if not title:
        return render(request, "lookup.html", title="", hits=[])
    lookup = request.app[SERVICES].lookup
    exact = await lookup.resolve(title)
    if exact is not None:
        raise web.HTTPFound(addresses.paper_path(exact.arxiv_id, exact.id))
    hits = await lookup.lookup(title, LOOKUP_HITS)
    return render(request, "lookup.html", title=title, hits=hits, status=200 if hits else 404)


async def search_page(request: web.Request) -> web.Response:
    query = params.text(request.query, "q", limit=params.MAX_QUERY)
    since, until = params.date_range(request.query)
    per_page = params.number(request.query, "per_page", PER_PAGE, 1, MAX_PER_PAGE)
    last_page = MAX_LIMIT // per_page
    page = params.number(request.query, "page", 1, 1, last_page)
    if not query.strip():
        return render(request, "search.html", query="", since=since, until=until, result=None)
    result = await search(request.app[SERVICES].db, query, SearchFilters(since=since, until=until),
                          limit=page * per_page)
    hits = result.hits[(page - 1) * per_page:]
    if result.hits and not hits:
        raise PageNotFound(f"There is no page {page}: {result.count_text} papers match.")
    more = result.next_cursor is not None or result.count > page * per_page
    return render(request, "search.html", query=query, since=since, until=until, result=result, hits=hits,
                  page=page, per_page=per_page, first=(page - 1) * per_page + 1,
                  has_next=more and page < last_page, capped=more and page >= last_page)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", home, name="home")
    router.add_get("/digests", calendar_page, name="calendar")
    router.add_get(r"/digests/{date}", digest_page, name="digest")
    router.add_get("/papers", lookup_page, name="lookup")
    router.add_get(r"/papers/{ref:.+}", paper_page, name="paper")
    router.add_get("/search", search_page, name="search")
