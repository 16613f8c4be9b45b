"""For operators: `/healthz` (the database answers) and `/metrics` in Prometheus' text format.

The metrics: papers and digests in the archive, each digest source's seconds since its last
successful fetch, posts and notifications waiting to be sent (and those that failed), how long
chat interactions took to answer (a histogram per kind: command, suggest, press; kept by this
process, so `paperboy run` with `[web] enabled` has them), how long this server took per route,
and how many pages the page cache answered.
"""

from __future__ import annotations

import math

from aiohttp import web

from bot import __version__
from bot.commands.timing import LatencyHistogram
from bot.status.report import enabled_sources
from bot.web.view import PAGES, REQUESTS, SERVICES
from storage import fetch_state
from storage import notifications as notification_repo
from storage import papers as paper_repo
from storage import posts as post_repo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = ("pending", "sending", "failed", "unknown")  # waiting, then the ones an operator looks at


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value)) if isinstance(value, float) else str(value)


class Exposition:
    """Lines of the text format: each metric's HELP and TYPE once, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, **labels: str) -> None:
        shown = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{shown}}} {_number(value)}" if shown else f"{name} {_number(value)}")

    def histogram(self, name: str, help_text: str, histogram: LatencyHistogram, label: str) -> None:
        self.metric(name, "histogram", help_text)
        for key in sorted(histogram.series):
            series = histogram.series[key]
            bounds = [*histogram.buckets, math.inf]
            for bound, count in zip(bounds, series.cumulative(), strict=True):
                self.sample(f"{name}_bucket", count, **{label: key, "le": _number(bound)})
            self.sample(f"{name}_sum", series.total, **{label: key})
            self.sample(f"{name}_count", series.count, **{label: key})

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    db, now = services.db, services.clock()
    out = Exposition()
    out.metric("paperboy_info", "gauge", "The running Paperboy's version.")
    out.sample("paperboy_info", 1, version=__version__)
    stats = await paper_repo.stats(db)
    out.metric("paperboy_papers", "gauge", "Papers in the archive.")
    out.sample("paperboy_papers", stats.papers)
    out.metric("paperboy_digests", "gauge", "Digests in the archive (days of archive imports included).")
    out.sample("paperboy_digests", stats.digests)
    names, _ = enabled_sources(services.settings)
    sources = await fetch_state.source_status(db, names)
    out.metric("paperboy_source_last_success_age_seconds", "gauge",
               "Seconds since each digest source was last fetched successfully (sources never fetched are absent).")
    for s in sources:
        if s.last_success_at is not None:
            out.sample("paperboy_source_last_success_age_seconds",
                       max((now - s.last_success_at).total_seconds(), 0.0), source=s.source)
    out.metric("paperboy_source_consecutive_failures", "gauge", "Failed fetches of each source since its last success.")
    for s in sources:
        out.sample("paperboy_source_consecutive_failures", s.consecutive_failures, source=s.source)
    out.metric("paperboy_posts", "gauge", "Daily posts in the post log by status (waiting: pending or sending).")
    posts = await post_repo.count_by_status(db)
    for status in STATUSES:
        out.sample("paperboy_posts", posts.get(status, 0), status=status)
    out.metric("paperboy_notifications", "gauge", "Topic notifications in the delivery log by status.")
    notifications = await notification_repo.count_by_status(db)
    for status in STATUSES:
        out.sample("paperboy_notifications", notifications.get(status, 0), status=status)
    out.histogram("paperboy_interaction_latency_seconds", "Time to answer chat interactions in this process.",
                  services.latency, "kind")
    pages = request.app[PAGES]
    out.metric("paperboy_web_page_cache_requests_total", "counter",
               "Web archive pages asked for by whether the page cache had them (hit) or built them (miss).")
    out.sample("paperboy_web_page_cache_requests_total", pages.hits, result="hit")
    out.sample("paperboy_web_page_cache_requests_total", pages.misses, result="miss")
    out.histogram("paperboy_web_request_duration_seconds", "Time to answer web archive requests, per route.",
                  request.app[REQUESTS], "route")
    response = web.Response(text=out.text())
    response.headers["Content-Type"] = CONTENT_TYPE
    response.headers["Cache-Control"] = "no-store"
    return response


async def healthz(request: web.Request) -> web.Response:
    try:
        version = await request.app[SERVICES].db.schema_version()
    except Exception as exc:  # noqa: BLE001 - health is the answer, not an error page
        response = web.json_response({"status": "unavailable", "error": exc.__class__.__name__}, status=503)
    else:
        response = web.json_response({"status": "ok", "schema_version": version, "version": __version__})
    response.headers["Cache-Control"] = "no-store"
    return response


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/healthz", healthz, name="healthz")
    router.add_get("/metrics", metrics, name="metrics")
