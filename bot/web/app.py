"""The web archive's aiohttp application: routes, templates, and what every response gets.

Every response carries a Content-Security-Policy that allows only this server's own styles and
script (no CDN, nothing inline), and no framing. Pages and JSON are answered with an ETag (a hash
of the body: a reader asking again with If-None-Match gets 304) and a Cache-Control fit for how
often they change. Errors are short pages (or JSON under /api/) saying what was wrong: 400 for a
bad parameter, 404 for an unknown date, paper or address; anything else is logged and answered
with a 500 that shows no traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Hashable

from aiohttp import web

from bot.commands.context import Services
from bot.commands.timing import LatencyHistogram
from bot.search.service import QueryError
from bot.web import api, feeds, metrics, pages
from bot.web.page_cache import PageCache, body_tag
from bot.web.params import BadRequest, PageNotFound
from bot.web.view import HERE, PAGE_CACHE, PAGES, PUBLIC_URL, REQUESTS, SERVICES, TEMPLATES, environment, render
from storage import digests as digest_repo

log = logging.getLogger(__name__)

CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
STATIC_CACHE = "public, max-age=86400"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz",)


def _error(request: web.Request, status: int, title: str, message: str) -> web.Response:
    if _wants_json(request):
        response = web.json_response({"error": message, "status": status}, status=status)
    elif request.path.startswith("/feeds/") or request.path == "/metrics":
        response = web.Response(text=message + "\n", status=status, content_type="text/plain")
    else:
        response = render(request, "error.html", status=status, title=title, message=message)
    response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (BadRequest, QueryError) as exc:
        return _error(request, 400, "That request cannot be answered", str(exc))
    except PageNotFound as exc:
        return _error(request, 404, "Not found", str(exc))
    except web.HTTPNotFound:
        return _error(request, 404, "Not found", f"Nothing lives at {request.path[:200]}.")
    except web.HTTPMethodNotAllowed:
        return _error(request, 405, "Read only", "This archive only answers GET and HEAD requests.")
    except web.HTTPException:
        raise  # redirects, and what aiohttp answers itself
    except Exception:  # noqa: BLE001 - the edge: a reader never sees a traceback
        log.exception("web request %s failed", request.path_qs[:300])
        return _error(request, 500, "Something went wrong",
                      "This page could not be built; the error has been logged. Try again later.")


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    try:
        with request.app[SERVICES].activity.busy():
            return await handler(request)
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        request.app[REQUESTS].observe(name, time.perf_counter() - started)


@web.middleware
async def etags(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if (request.method in ("GET", "HEAD") and response.status == 200 and isinstance(response, web.Response)
            and isinstance(response.body, bytes) and response.headers.get("Cache-Control") != "no-store"):
        tag = response.etag.value if response.etag is not None else body_tag(response.body)
        response.etag = tag
        if tag in {t.value for t in request.if_none_match or ()}:
            not_modified = web.Response(status=304)
            not_modified.etag = tag
            not_modified.headers["Cache-Control"] = response.headers.get("Cache-Control", PAGE_CACHE)
            return not_modified
        response.headers.setdefault("Cache-Control", PAGE_CACHE)
    return response


UNKEPT = ("/static/", "/metrics", "/healthz")


@web.middleware
async def kept_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Pages answered from bot.web.page_cache while the archive has not changed since they were
    built (the day is part of the key: a digest page's Cache-Control depends on it)."""
    if request.method not in ("GET", "HEAD") or request.path.startswith(UNKEPT):
        return await handler(request)
    key = (request.path_qs, request.host, request.app[SERVICES].clock().date())
    return await request.app[PAGES].get(key, lambda: handler(request))


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if request.path.startswith("/static/"):
        response.headers["Cache-Control"] = STATIC_CACHE


def make_app(services: Services, *, public_url: str | None = None) -> web.Application:
    """The archive over `services` (read only: it never writes to the database)."""
    app = web.Application(middlewares=[timing, errors, etags, kept_pages], client_max_size=64 * 1024)
    app[SERVICES] = services
    app[TEMPLATES] = environment()
    app[REQUESTS] = LatencyHistogram()
    app[PUBLIC_URL] = services.settings.web.public_url if public_url is None else public_url

    async def marker() -> Hashable:
        return await digest_repo.archive_version(services.db)

    async def serve_pages(_: web.Application) -> None:  # paper pages' close matches, found ahead from now on
        await services.lookup.close_matches.serve_pages()

    app[PAGES] = PageCache(marker)
    app.on_startup.append(serve_pages)
    app.on_response_prepare.append(_security_headers)
    pages.add_routes(app.router)
    api.add_routes(app.router)
    feeds.add_routes(app.router)
    metrics.add_routes(app.router)
    app.router.add_static("/static/", HERE / "static", append_version=False)
    return app
