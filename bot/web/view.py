"""What every part of the web archive shares: the application's keys, the templates, rendering.

bot.web.app builds the application from the route modules (pages, api, feeds, metrics), and
they all read the Services, the templates and the public address through the keys here, so no
route module imports the application module and the application imports each of them once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from bot import __version__
from bot.commands.context import Services
from bot.commands.timing import LatencyHistogram
from bot.display import addresses
from bot.display.titles import shown_title
from bot.search.service import mark
from bot.summary.render import url_ok
from bot.web.page_cache import PageCache
from storage.search.fts import Marked

HERE = Path(__file__).parent
SERVICES = web.AppKey("services", Services)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
REQUESTS = web.AppKey("requests", LatencyHistogram)
PUBLIC_URL = web.AppKey("public_url", str)
PAGES = web.AppKey("pages", PageCache)

PAGE_CACHE = "public, max-age=60"


def _mark(marked: Marked) -> Markup:
    """Matched words in <mark>, every character of the text escaped."""
    return Markup(mark(marked, "<mark>", "</mark>", lambda s: str(escape(s))))


def _links_ok(links: dict[str, str]) -> dict[str, str]:
    """Only links a page may hold: http(s), no quotes or brackets (the summary's own rule); a
    `javascript:` link a digest carries is left out."""
    return {name: url for name, url in links.items() if url_ok(url)}


def _long_date(day: Any) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def environment() -> jinja2.Environment:
    # auto_reload off: the templates ship with the code, and checking each one's mtime on every
    # render was a system call per template per page.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             auto_reload=False)
    env.filters["marked"] = _mark
    env.filters["long_date"] = _long_date
    env.filters["links_ok"] = _links_ok
    env.globals.update(paper_path=addresses.paper_path, digest_path=addresses.digest_path,
                       month_path=addresses.month_path, search_path=addresses.search_path,
                       source_feed_path=addresses.source_feed_path, search_feed_path=addresses.search_feed_path,
                       shown=shown_title, version=__version__)
    return env


def render(request: web.Request, template: str, *, status: int = 200, cache: str = PAGE_CACHE,
           **context: Any) -> web.Response:
    body = request.app[TEMPLATES].get_template(template).render(request=request, **context)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = cache if status == 200 else "no-store"
    return response


def base_url(request: web.Request) -> str:
    """Where links in feeds point: [web] public_url, else the address this request came to."""
    return request.app[PUBLIC_URL].rstrip("/") or str(request.url.origin())
