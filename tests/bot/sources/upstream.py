"""A loopback upstream (aiohttp on 127.0.0.1) that serves scripted replies, recorded fixtures
included, to the real HTTP client; a fake clock whose sleeps return at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.download.http import HttpClient, HttpPolicy
from bot.sources.base import Source
from bot.sources.poller import OnLoaded, Poller, PollPolicy
from storage.db import Database
from storage.loader import Loader
from storage.records import LoadResult

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@dataclass
class Reply:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # sent as ETag; a matching If-None-Match gets a 304
    delay: float = 0.0  # seconds before answering
    truncate: bool = False  # promise the whole body, send half, drop the connection
    chunked: bool = False  # no Content-Length: the client learns the size only by reading

    @property
    def data(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


@dataclass
class Seen:
    path: str  # path and query, decoded
    headers: dict[str, str]
    query: dict[str, str]


class Upstream:
    """Routes by path (with query, or path alone as a fallback) to a script of replies; the last
    reply of a script repeats. Every request is recorded in `requests`."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self.base = ""

    def serve(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def url(self, path: str = "") -> str:
        return self.base + path

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Seen(request.path_qs, dict(request.headers), dict(request.query)))
        script = self.routes.get(request.path_qs) or self.routes.get(request.path)
        if not script:
            return web.Response(status=404, text="no such fixture")
        reply = script.pop(0) if len(script) > 1 else script[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        headers = dict(reply.headers)
        if reply.etag:
            headers["ETag"] = reply.etag
            if request.headers.get("If-None-Match") == reply.etag:
                return web.Response(status=304, headers=headers)
        if reply.truncate:
            response = web.StreamResponse(status=reply.status, headers={**headers,
                                                                        "Content-Length": str(len(reply.data))})
            await response.prepare(request)
            await response.write(reply.data[: len(reply.data) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        if reply.chunked:
            response = web.StreamResponse(status=reply.status, headers=headers)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(reply.data), 1024):
                await response.write(reply.data[start:start + 1024])
            await response.write_eof()
            return response
        return web.Response(status=reply.status, body=reply.data, headers=headers)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = Upstream()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


class FakeTime:
    """A monotonic clock that only moves when slept on; sleeps are recorded and return at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def make_client(fake_time: FakeTime, **policy: Any) -> HttpClient:
    settings: dict[str, Any] = {"timeout_s": 2.0, "retries": 2, "backoff_base_s": 1.0, "backoff_max_s": 8.0,
                                "request_interval_s": 0.0}
    settings.update(policy)
    return HttpClient(HttpPolicy(**settings), sleep=fake_time.sleep, jitter=lambda: 1.0, clock=fake_time)


class Recorder:
    """An `on_loaded` hook that keeps what it was given."""

    def __init__(self) -> None:
        self.calls: list[list[LoadResult]] = []

    async def __call__(self, results: list[LoadResult]) -> None:
        self.calls.append(results)


NOW = dt.datetime(2024, 7, 9, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
async def make_poller(db: Database, fake_time: FakeTime) -> AsyncIterator[Callable[..., Poller]]:
    made: list[Poller] = []

    def build(sources: list[Source], *, on_loaded: OnLoaded | None = None, policy: PollPolicy | None = None,
              **client: Any) -> Poller:
        poller = Poller(db, Loader(db), make_client(fake_time, **client), sources, policy=policy or PollPolicy(),
                        clock=lambda: NOW, on_loaded=on_loaded)
        made.append(poller)
        return poller

    yield build
    for poller in made:
        await poller.close()


def hf_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((FIXTURES / "hf-daily-papers-api-sample.json").read_text())
    return items


def hf_page(items: list[dict[str, Any]], etag: str | None = None) -> Reply:
    return Reply(json.dumps(items), headers={"Content-Type": "application/json"}, etag=etag)


def fixture_reply(name: str, **kwargs: Any) -> Reply:
    return Reply((FIXTURES / name).read_bytes(), **kwargs)
