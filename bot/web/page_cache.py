"""Pages that do not change, answered from memory until the archive changes.

A page (HTML, a feed, the JSON API) is kept with the archive's change marker
(`storage.digests.archive_version`: digests, the latest digest write, the highest paper id) read
when it was built, for at most its own Cache-Control max-age. A request for it while the marker
holds gets the kept body without running the handler; after a load the marker moves and every
kept page is built again. The marker is read at most once every MARKER_EVERY seconds, so a busy
server asks the database for it a few times a second, not once a request. Requests for a page
being built wait for that build rather than building it again (fifty readers opening the home page
at once compose it once). Only 200 answers marked `public` are kept, at most MAX_PAGES of them
and MAX_BYTES in all, least recently used out first.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from aiohttp import web

MAX_PAGES = 512
MAX_BYTES = 64 * 1024 * 1024
MARKER_EVERY = 1.0
KEPT_HEADERS = ("Content-Type", "Cache-Control")
_MAX_AGE = re.compile(r"max-age=(\d+)")


def body_tag(body: bytes) -> str:
    """A page's ETag: a hash of its bytes."""
    return hashlib.sha256(body).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Kept:
    marker: Hashable
    until: float
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]
    tag: str  # body_tag(body), hashed once when kept rather than on every hit

    def response(self) -> web.Response:
        response = web.Response(body=self.body, status=self.status)
        response.etag = self.tag
        for name, value in self.headers:
            response.headers[name] = value
        return response


def lifetime(response: web.StreamResponse) -> float | None:
    """How long a response may be kept: its public max-age, or None when it is not to be kept."""
    if response.status != 200 or not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return None
    cache = response.headers.get("Cache-Control", "")
    found = _MAX_AGE.search(cache)
    if not cache.startswith("public") or found is None:
        return None
    return float(found.group(1))


class PageCache:
    """Built pages by key (the address, the host asked, the day), valid while the marker holds."""

    def __init__(self, marker: Callable[[], Awaitable[Hashable]], *, max_pages: int = MAX_PAGES,
                 max_bytes: int = MAX_BYTES, clock: Callable[[], float] = time.monotonic) -> None:
        self._read_marker = marker
        self._max_pages = max_pages
        self._max_bytes = max_bytes
        self._clock = clock
        self._pages: OrderedDict[Hashable, Kept] = OrderedDict()
        self._bytes = 0
        self._marker: Hashable = None
        self._marker_at = -MARKER_EVERY
        self._reading: asyncio.Task[Hashable] | None = None
        self._building: dict[Hashable, asyncio.Future[web.StreamResponse | Kept]] = {}
        self.hits = 0
        self.misses = 0

    async def marker(self) -> Hashable:
        now = self._clock()
        if now - self._marker_at < MARKER_EVERY:
            return self._marker
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_marker())
        reading = self._reading
        try:
            marker = await asyncio.shield(reading)
        finally:
            if self._reading is reading and reading.done():
                self._reading = None
        if marker != self._marker:
            self._forget()
        self._marker, self._marker_at = marker, now
        return marker

    def _forget(self) -> None:
        self._pages.clear()
        self._bytes = 0

    async def get(self, key: Hashable, build: Callable[[], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """The kept page for `key`, else `build()`'s answer (kept when it may be)."""
        marker = await self.marker()
        kept = self._pages.get(key)
        if kept is not None and kept.marker == marker and kept.until > self._clock():
            self._pages.move_to_end(key)
            self.hits += 1
            return kept.response()
        waiting = self._building.get(key)
        if waiting is not None:
            result = await asyncio.shield(waiting)
            return result.response() if isinstance(result, Kept) else await build()
        self.misses += 1
        future: asyncio.Future[web.StreamResponse | Kept] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            response = await build()
        except BaseException:
            future.set_result(web.Response(status=500))  # the waiters build for themselves
            raise
        finally:
            self._building.pop(key, None)
        kept_for = lifetime(response)
        if kept_for is None or not isinstance(response, web.Response):
            future.set_result(response)
            return response
        body = response.body
        assert isinstance(body, bytes)
        stored = Kept(marker, self._clock() + kept_for, response.status, body,
                      tuple((h, response.headers[h]) for h in KEPT_HEADERS if h in response.headers),
                      body_tag(body))
        future.set_result(stored)
        self._keep(key, stored)
        return response

    def _keep(self, key: Hashable, kept: Kept) -> None:
        if len(kept.body) > self._max_bytes // 8:
            return
        old = self._pages.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._pages[key] = kept
        self._bytes += len(kept.body)
        while len(self._pages) > self._max_pages or self._bytes > self._max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped.body)
