"""Paperboy's HTTP client for fetching digests (aiohttp, already a discord.py dependency).

Polite and defensive: a User-Agent naming Paperboy and its version, a minimum interval between
requests to the same host, a timeout on every request, retries of temporary failures (timeouts,
dropped connections, truncated bodies, 408/425/429/5xx) with exponential back-off and jitter,
`Retry-After` respected (up to a ceiling, beyond which the request fails so the source backs off
instead), conditional requests (ETag / Last-Modified) and a size limit on every body, counted
after decompression. With `public_only` (chat /ingest), every connection, to the first URL and to
each redirect, is refused unless the address actually connected to is public (`is_public_address`):
the check runs on the resolved address as the socket is made, so neither a redirect to 127.0.0.1
nor a name that resolves differently the second time reaches inside the network.
`sleep`, `jitter` and `clock` are injectable so tests run at full speed.

No connection is opened before the first request: importing this module touches no network.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot import __version__
from bot.chat.ratelimit import TokenBucket
from bot.download.addresses import is_public_address
from bot.download.errors import DownloadError as DownloadError  # re-exported; defined apart to stay cheap
from storage.fetch_state import Validator

log = logging.getLogger(__name__)


class AddressRefused(OSError):
    """A connection to a non-public address, refused as its socket was about to be made."""

    MARK = "is not a public address"


def _public_socket(addr_info: tuple[int, int, int, str, tuple[Any, ...]]) -> socket.socket:
    """aiohttp's socket factory for `public_only` clients: refuses before connecting to the address
    the connection would really reach (resolved once, by aiohttp, for this very connection)."""
    family, kind, proto, _, address = addr_info
    if not is_public_address(str(address[0])):
        raise AddressRefused(f"{address[0]} {AddressRefused.MARK}; the bot only fetches public URLs")
    return socket.socket(family, kind, proto)


def user_agent(contact: str = "") -> str:
    """The User-Agent, with the operator's contact (a URL or e-mail) when configured."""
    extra = f"; {contact.strip()}" if contact.strip() else ""
    return f"Paperboy/{__version__} (research-paper digest bot{extra})"


USER_AGENT = user_agent()

# Statuses worth asking again: the server or something in between was briefly unable to answer.
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True, frozen=True)
class HttpPolicy:
    timeout_s: float = 30.0  # whole request, body included
    retries: int = 3  # further tries after the first, for temporary failures only
    backoff_base_s: float = 2.0  # the first retry waits about this long, doubling each time
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 300.0  # a longer Retry-After fails the request instead of waiting
    max_bytes: int = 20_000_000
    request_interval_s: float = 1.0  # to any one host, at least this long between requests
    host_intervals: Mapping[str, float] = field(default_factory=dict)  # per-host overrides (arXiv asks 3 s)
    user_agent: str = USER_AGENT
    public_only: bool = False  # refuse to connect to loopback, private, link-local... addresses


@dataclass(slots=True, frozen=True)
class Response:
    url: str
    status: int  # 200, or 304 for a conditional request whose resource is unchanged
    body: bytes
    validator: Validator | None  # what to send next time to ask "changed?" (None: the server gave none)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date. None when absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - (now or dt.datetime.now(dt.UTC))).total_seconds())


class HttpClient:
    """One aiohttp session and its politeness state. Use `async with HttpClient(...) as client`."""

    def __init__(self, policy: HttpPolicy = HttpPolicy(), *, sleep: Sleep = asyncio.sleep,
                 jitter: Callable[[], float] = random.random, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._sleep = sleep
        self._jitter = jitter
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[str, TokenBucket | None] = {}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def backoff(self, attempt: int) -> float:
        """The wait before retry number `attempt + 1`: exponential, capped, with jitter in [50%, 100%]
        so that many clients failing together do not come back together."""
        p = self.policy
        return min(p.backoff_max_s, p.backoff_base_s * float(2 ** attempt)) * (0.5 + self._jitter() / 2)

    async def get(self, url: str, *, validator: Validator | None = None, max_bytes: int | None = None) -> Response:
        """GET `url` (conditionally when `validator` is given), retrying temporary failures.

        Raises DownloadError when it cannot get a 200 or a 304."""
        attempt = 0
        while True:
            try:
                return await self._once(url, validator, max_bytes or self.policy.max_bytes)
            except DownloadError as exc:
                if not exc.retryable or attempt >= self.policy.retries:
                    raise
                delay = self.backoff(attempt)
                if exc.retry_after is not None:
                    if exc.retry_after > self.policy.retry_after_max_s:
                        raise DownloadError(url, f"{exc.reason}; the server asks to wait {exc.retry_after:g} s, "
                                                 f"longer than {self.policy.retry_after_max_s:g} s",
                                            status=exc.status, retry_after=exc.retry_after) from None
                    delay = max(delay, exc.retry_after)
                attempt += 1
                log.info("%s; retry %d of %d in %.1f s", exc, attempt, self.policy.retries, delay)
                await self._sleep(delay)

    def _limiter(self, url: str) -> TokenBucket | None:
        host = (urlsplit(url).hostname or "").lower()
        if host not in self._hosts:
            interval = self.policy.host_intervals.get(host, self.policy.request_interval_s)
            self._hosts[host] = (TokenBucket(1.0 / interval, 1, clock=self._clock, sleep=self._sleep)
                                 if interval > 0 else None)
        return self._hosts[host]

    def _session_for_requests(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(socket_factory=_public_socket) if self.policy.public_only else None
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.policy.user_agent},
                timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s))
        return self._session

    async def _once(self, url: str, validator: Validator | None, max_bytes: int) -> Response:
        headers = {}
        if validator is not None:
            if validator.etag:
                headers["If-None-Match"] = validator.etag
            if validator.last_modified:
                headers["If-Modified-Since"] = validator.last_modified
        limiter = self._limiter(url)
        if limiter is not None:
            await limiter.acquire()
        try:
            async with self._session_for_requests().get(url, headers=headers, max_redirects=5) as response:
                if response.status == 304:
                    return Response(url, 304, b"", _validator(response) or validator)
                if response.status != 200:
                    raise DownloadError(url, f"the server answered HTTP {response.status}", status=response.status,
                                        retryable=response.status in RETRYABLE_STATUS,
                                        retry_after=retry_after_seconds(response.headers.get("Retry-After")))
                body = await _read_limited(response, url, max_bytes)
                return Response(url, 200, body, _validator(response))
        except TimeoutError:
            raise DownloadError(url, f"no answer within {self.policy.timeout_s:g} s", retryable=True) from None
        except aiohttp.ClientPayloadError as exc:
            raise DownloadError(url, f"the body was cut off ({exc})", retryable=True) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, AddressRefused) or AddressRefused.MARK in str(exc.os_error):
                raise DownloadError(url, f"refused to connect to {exc.host}: {exc.os_error}") from None
            raise DownloadError(url, f"could not connect: {exc.__class__.__name__}: {exc}", retryable=True) from None
        except aiohttp.ClientConnectionError as exc:
            raise DownloadError(url, f"could not connect: {exc.__class__.__name__}: {exc}", retryable=True) from None
        except aiohttp.ClientError as exc:
            raise DownloadError(url, f"{exc.__class__.__name__}: {exc}") from None


def _validator(response: aiohttp.ClientResponse) -> Validator | None:
    etag = response.headers.get("ETag")
    modified = response.headers.get("Last-Modified")
    return Validator(etag, modified) if etag or modified else None


async def _read_limited(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> bytes:
    if response.content_length is not None and response.content_length > max_bytes:
        raise DownloadError(url, f"the body is {response.content_length} bytes, over the limit of {max_bytes}")
    body = bytearray()
    async for chunk in response.content.iter_chunked(65536):
        body += chunk
        if len(body) > max_bytes:
            raise DownloadError(url, f"the body is over the limit of {max_bytes} bytes")
    return bytes(body)


async def download(url: str, *, max_bytes: int, timeout_s: float = 30.0, public_only: bool = False) -> bytes:
    """GET `url` once-off (`paperboy ingest URL`, chat /ingest) and return its body, refusing bodies
    over `max_bytes` and, with `public_only`, any connection to a non-public address."""
    policy = HttpPolicy(timeout_s=timeout_s, max_bytes=max_bytes, retries=2, request_interval_s=0,
                        public_only=public_only)
    async with HttpClient(policy) as client:
        return (await client.get(url)).body
