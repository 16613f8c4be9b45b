"""Atom feeds, so a feed reader can follow a topic or a source.

`/feeds/search.atom?q=…` lists the papers a search finds (its best 50, newest listing first): a
topic to follow, in the same query language as /search. `/feeds/SOURCE.atom` has one entry per
digest of the source (its last 10 days with papers), each listing the day's papers. Entry ids
are the pages' absolute addresses ([web] public_url, else the address the feed was asked at), so
they stay the same from one fetch to the next. Text is written by an XML serialiser, and the
characters XML 1.0 cannot hold are dropped, so a hostile title cannot break the document.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET

from aiohttp import web

from bot import __version__
from bot.display import addresses
from bot.display.titles import shown_title
from bot.search.service import SearchFilters, listing_dates, search
from bot.web import params
from bot.web.params import PageNotFound
from bot.web.view import SERVICES, base_url
from storage import digests as digest_repo

ATOM = "http://www.w3.org/2005/Atom"
SEARCH_ENTRIES = 50
SOURCE_DIGESTS = 10
PAPERS_PER_ENTRY = 30
FEED_CACHE = "public, max-age=300"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ET.register_namespace("", ATOM)


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _stamp(moment: dt.datetime | dt.date) -> str:
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(), tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _text(text)
    return element


def _feed(base: str, self_path: str, alternate_path: str, title: str, updated: str) -> ET.Element:
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", base + self_path)
    _add(feed, "title", title)
    _add(feed, "updated", updated)
    _add(feed, "link", rel="self", type="application/atom+xml", href=base + self_path)
    _add(feed, "link", rel="alternate", type="text/html", href=base + alternate_path)
    author = _add(feed, "author")
    _add(author, "name", "Paperboy")
    _add(feed, "generator", "Paperboy", version=__version__)
    return feed


def _response(feed: ET.Element) -> web.Response:
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    response = web.Response(body=body, content_type="application/atom+xml", charset="utf-8")
    response.headers["Cache-Control"] = FEED_CACHE
    return response


async def search_feed(request: web.Request) -> web.Response:
    query = params.text(request.query, "q", limit=params.MAX_QUERY, required=True)
    result = await search(request.app[SERVICES].db, query, SearchFilters(), limit=SEARCH_ENTRIES)
    base = base_url(request)
    hits = sorted(result.hits, key=lambda h: (max(listing_dates(h), default=h.first_listed), h.paper_id),
                  reverse=True)
    newest = max((max(listing_dates(h), default=h.first_listed) for h in hits), default=dt.date(2000, 1, 1))
    feed = _feed(base, addresses.search_feed_path(query), addresses.search_path(query),
                 f"Paperboy: papers matching {result.query}", _stamp(newest))
    for hit in hits:
        page = base + addresses.paper_path(hit.arxiv_id, hit.paper_id)
        entry = _add(feed, "entry")
        _add(entry, "id", page)
        _add(entry, "title", hit.title.text or "(untitled)")
        _add(entry, "updated", _stamp(max(listing_dates(hit), default=hit.first_listed)))
        _add(entry, "published", _stamp(hit.first_listed))
        _add(entry, "link", rel="alternate", type="text/html", href=page)
        if hit.snippet.text:
            _add(entry, "summary", hit.snippet.text, type="text")
    return _response(feed)


async def source_feed(request: web.Request) -> web.Response:
    source = request.match_info["source"]
    if len(source) > params.MAX_SOURCE:
        raise params.BadRequest(f"the source name is {len(source)} characters long; at most {params.MAX_SOURCE}")
    db = request.app[SERVICES].db
    digests = [d for d in await digest_repo.list_digests(db, source=source, limit=SOURCE_DIGESTS * 3) if d.papers]
    digests = digests[:SOURCE_DIGESTS]
    if not digests:
        raise PageNotFound(f"No digest from {source} is stored.")
    base = base_url(request)
    feed = _feed(base, addresses.source_feed_path(source), addresses.digest_path(digests[0].date, source),
                 f"Paperboy: {source}", _stamp(max(d.updated_at for d in digests)))
    for digest in digests:
        page = base + addresses.digest_path(digest.date, source)
        entries = await digest_repo.digest_entries(db, digest.id)
        entry = _add(feed, "entry")
        _add(entry, "id", page)
        _add(entry, "title", f"{source} · {digest.date:%a} {digest.date.day} {digest.date:%b %Y}: "
                             f"{digest.papers} paper{'' if digest.papers == 1 else 's'}")
        _add(entry, "updated", _stamp(digest.updated_at))
        _add(entry, "published", _stamp(digest.fetched_at))
        _add(entry, "link", rel="alternate", type="text/html", href=page)
        items = "".join(
            f'<li><a href="{html.escape(base + addresses.paper_path(e.paper.arxiv_id, e.paper.id))}">'
            f"{html.escape(shown_title(e.paper.title) or '(untitled)')}</a></li>"
            for e in entries[:PAPERS_PER_ENTRY])
        more = f"<p>… and {len(entries) - PAPERS_PER_ENTRY} more on the digest's page.</p>" \
            if len(entries) > PAPERS_PER_ENTRY else ""
        _add(entry, "content", f"<ol>{items}</ol>{more}", type="html")
    return _response(feed)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/feeds/search.atom", search_feed, name="feed-search")
    router.add_get(r"/feeds/{source:[^/]+}.atom", source_feed, name="feed-source")
