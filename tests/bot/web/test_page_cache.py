"""The web archive's page cache: a kept page is answered until the archive's marker moves or its
max-age passes; pages asked for at once are built once; only public 200 answers are kept."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.web.page_cache import PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _page(text: str, *, status: int = 200, cache: str = "public, max-age=60") -> web.Response:
    response = web.Response(text=text, status=status, content_type="text/html")
    response.headers["Cache-Control"] = cache
    return response


async def test_a_kept_page_lasts_until_the_marker_moves_or_it_is_too_old() -> None:
    marker, clock, builds = ["v1"], Clock(), []

    async def read_marker() -> str:
        return marker[0]

    async def build() -> web.StreamResponse:
        builds.append(1)
        return _page(f"page {len(builds)}")

    cache = PageCache(read_marker, clock=clock)
    first = await cache.get("/", build)
    again = await cache.get("/", build)
    assert isinstance(again, web.Response) and again.body == b"page 1" and len(builds) == 1
    assert again.headers["Cache-Control"] == "public, max-age=60" and first.status == 200
    marker[0] = "v2"  # a load: seen once the marker is read again
    clock.now += 2
    moved = await cache.get("/", build)
    assert isinstance(moved, web.Response) and moved.body == b"page 2"
    clock.now += 61  # older than its max-age
    await cache.get("/", build)
    assert len(builds) == 3


async def test_pages_asked_at_once_are_built_once_and_errors_are_not_kept() -> None:
    builds = []
    gate = asyncio.Event()

    async def read_marker() -> int:
        return 1

    async def build() -> web.StreamResponse:
        builds.append(1)
        await gate.wait()
        return _page("home")

    cache = PageCache(read_marker)
    waiting = [asyncio.create_task(cache.get("/", build)) for _ in range(20)]
    await asyncio.sleep(0.01)
    gate.set()
    answers = await asyncio.gather(*waiting)
    assert len(builds) == 1 and {a.body for a in answers if isinstance(a, web.Response)} == {b"home"}

    async def missing() -> web.StreamResponse:
        builds.append(1)
        return _page("no such page", status=404, cache="no-store")

    for _ in range(2):
        assert (await cache.get("/nope", missing)).status == 404
    assert len(builds) == 3


async def test_private_or_unbounded_answers_are_built_each_time() -> None:
    builds = []

    async def read_marker() -> int:
        return 1

    async def build() -> web.StreamResponse:
        builds.append(1)
        return _page("x", cache="no-store")

    cache = PageCache(read_marker)
    await cache.get("/metrics", build)
    await cache.get("/metrics", build)
    assert len(builds) == 2
