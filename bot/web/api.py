"""The JSON API: the same objects as the CLI's --json output, one JSON document per request.

`/api/search` is `paperboy search --json` (with `limit` and `cursor` for paging), `/api/papers?q=`
is `paperboy paper --json`, `/api/digests` is `paperboy digests --json`, `/api/digests/DATE` (or
`latest`) is `paperboy digest --json`, `/api/stats` is `paperboy stats --json` (without the
database's location). `/api/papers/REF` is one paper with its listings, `/api/papers/REF/close` its
close matches, and `/api/suggest?q=` the title suggestions the pages show as you type.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.commands.lookup import paper_facts
from bot.display import addresses
from bot.display.as_json import json_text
from bot.lookup.service import hit_json
from bot.search.service import SearchFilters, result_json, search
from bot.summary import to_json
from bot.web import params
from bot.web.pages import resolve_listed, resolve_paper
from bot.web.params import PageNotFound
from bot.web.view import SERVICES
from storage import digests as digest_repo
from storage import papers as paper_repo
from storage.search.fts import MAX_LIMIT

API_CACHE = "public, max-age=60"
MAX_LOOKUP = 25
MAX_DIGESTS = 1000


def _json(data: Any, cache: str = API_CACHE) -> web.Response:
    response = web.json_response(data, dumps=json_text)
    response.headers["Cache-Control"] = cache
    return response


async def search_api(request: web.Request) -> web.Response:
    query = params.text(request.query, "q", limit=params.MAX_QUERY, required=True)
    since, until = params.date_range(request.query)
    filters = SearchFilters(since=since, until=until, date=params.date(request.query, "date"),
                            source=params.text(request.query, "source", limit=params.MAX_SOURCE).strip() or None)
    limit = params.number(request.query, "limit", 10, 1, MAX_LIMIT)
    cursor = params.text(request.query, "cursor").strip() or None
    result = await search(request.app[SERVICES].db, query, filters, limit=limit, cursor=cursor)
    return _json(result_json(query, result))


async def lookup_api(request: web.Request) -> web.Response:
    query = params.text(request.query, "q", limit=params.MAX_QUERY, required=True)
    limit = params.number(request.query, "limit", 5, 1, MAX_LOOKUP)
    hits = await request.app[SERVICES].lookup.lookup(query, limit)
    return _json({"query": query, "hits": [hit_json(h) for h in hits]})


async def suggest_api(request: web.Request) -> web.Response:
    query = params.text(request.query, "q", limit=params.MAX_QUERY)
    choices = await request.app[SERVICES].lookup.autocomplete(query) if query.strip() else []
    suggestions = []
    for c in choices:
        kind, _, ref = c.value.partition(":")
        path = addresses.paper_path(ref, 0) if kind == "arxiv" else f"/papers/{c.value}"
        suggestions.append({"title": c.name, "value": c.value, "url": path})
    return _json({"query": query, "suggestions": suggestions}, cache="public, max-age=30")


async def paper_api(request: web.Request) -> web.Response:
    facts = paper_facts(await resolve_listed(request))
    paper = facts.paper
    return _json({
        "paper_id": paper.id, "arxiv_id": paper.arxiv_id, "title": facts.title, "stored_title": paper.title,
        "abstract": paper.abstract, "takeaway": facts.takeaway, "authors": paper.authors, "links": paper.links,
        "categories": paper.categories, "keywords": paper.keywords, "published": paper.published,
        "page": addresses.paper_path(paper.arxiv_id, paper.id),
        "listings": [{"source": item.source, "date": item.date, "format": item.format, "position": item.position,
                      "upvotes": item.upvotes, "comments": item.comments} for item in facts.listings],
    })


async def close_api(request: web.Request) -> web.Response:
    """A paper's close matches (the paper page's script shows them when the page had none kept)."""
    paper = await resolve_paper(request)
    hits = await request.app[SERVICES].lookup.close_matches.get(paper) or []
    return _json({"paper_id": paper.id, "page": addresses.paper_path(paper.arxiv_id, paper.id),
                  "close": [{**hit_json(h), "page": addresses.paper_path(h.arxiv_id, h.paper_id)} for h in hits]},
                 cache="public, max-age=300")


async def digests_api(request: web.Request) -> web.Response:
    source = params.text(request.query, "source", limit=params.MAX_SOURCE).strip() or None
    limit = params.number(request.query, "limit", 100, 1, MAX_DIGESTS)
    found = await digest_repo.list_digests(request.app[SERVICES].db, source=source, limit=limit,
                                           archive_imports=request.query.get("all") == "1")
    return _json([{"source": d.source, "date": d.date.isoformat(), "kind": d.kind, "format": d.format,
                   "papers": d.papers, "fetched_at": d.fetched_at.isoformat(), "updated_at": d.updated_at.isoformat(),
                   "page": addresses.digest_path(d.date, d.source)} for d in found])


async def digest_api(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    asked = request.match_info["date"]
    day = None if asked == "latest" else params.parse_day(asked, "the date")
    source = params.text(request.query, "source", limit=params.MAX_SOURCE).strip() or None
    digest = await digest_repo.find_digest(services.db, date=day, source=source, empty=day is not None)
    if digest is None:
        raise PageNotFound(f"no digest{f' from {source}' if source else ''}"
                           f"{f' for {day.isoformat()}' if day else ' stored yet'}")
    return _json(to_json(await services.summaries.get(services.db, digest)))


async def stats_api(request: web.Request) -> web.Response:
    st = await paper_repo.stats(request.app[SERVICES].db)
    return _json({"papers": st.papers, "digests": st.digests, "listings": st.listings,
                  "with_arxiv_id": st.with_arxiv_id, "first_date": st.first_date, "last_date": st.last_date,
                  "database_bytes": st.database_bytes})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/search", search_api, name="api-search")
    router.add_get("/api/suggest", suggest_api, name="api-suggest")
    router.add_get("/api/papers", lookup_api, name="api-lookup")
    router.add_get(r"/api/papers/{ref:.+}/close", close_api, name="api-close")  # before api-paper's {ref:.+}
    router.add_get(r"/api/papers/{ref:.+}", paper_api, name="api-paper")
    router.add_get("/api/digests", digests_api, name="api-digests")
    router.add_get(r"/api/digests/{date}", digest_api, name="api-digest")
    router.add_get("/api/stats", stats_api, name="api-stats")
