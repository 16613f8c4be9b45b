"""The HTTP client against a loopback server: retries, Retry-After, conditional requests, limits."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import __version__
from bot.download.http import DownloadError, download, retry_after_seconds
from storage.fetch_state import Validator
from tests.bot.sources.upstream import FakeTime, Reply, Upstream, make_client


async def test_a_plain_get_names_paperboy_and_its_version(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply("hello", headers={"ETag": '"v1"', "Last-Modified": "Tue, 09 Jul 2024 04:00:00 GMT"}))
    async with make_client(fake_time) as client:
        response = await client.get(upstream.url("/x"))
    assert (response.status, response.body) == (200, b"hello")
    assert response.validator == Validator('"v1"', "Tue, 09 Jul 2024 04:00:00 GMT")
    assert f"Paperboy/{__version__}" in upstream.requests[0].headers["User-Agent"]


async def test_429_waits_as_long_as_retry_after_says(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply(status=429, headers={"Retry-After": "7"}), Reply("ok"))
    async with make_client(fake_time) as client:
        response = await client.get(upstream.url("/x"))
    assert response.body == b"ok"
    assert fake_time.sleeps == [7.0]  # not the 1 s back-off: the server's word wins when longer


async def test_a_retry_after_beyond_the_ceiling_fails_at_once(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply(status=429, headers={"Retry-After": "3600"}), Reply("ok"))
    async with make_client(fake_time, retry_after_max_s=60.0) as client:
        with pytest.raises(DownloadError, match="asks to wait 3600 s"):
            await client.get(upstream.url("/x"))
    assert len(upstream.requests) == 1 and fake_time.sleeps == []


async def test_500s_are_retried_with_exponential_backoff(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply(status=500), Reply(status=503), Reply("ok"))
    async with make_client(fake_time) as client:
        assert (await client.get(upstream.url("/x"))).body == b"ok"
    assert fake_time.sleeps == [1.0, 2.0]


async def test_retries_give_up_with_the_last_status(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply(status=500))
    async with make_client(fake_time, retries=2) as client:
        with pytest.raises(DownloadError, match=r"/x: the server answered HTTP 500"):
            await client.get(upstream.url("/x"))
    assert len(upstream.requests) == 3


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_client_errors_are_not_retried(upstream: Upstream, fake_time: FakeTime, status: int) -> None:
    upstream.serve("/x", Reply(status=status))
    async with make_client(fake_time) as client:
        with pytest.raises(DownloadError, match=f"HTTP {status}") as info:
            await client.get(upstream.url("/x"))
    assert info.value.status == status and len(upstream.requests) == 1


async def test_a_timeout_is_retried_then_reported(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/slow", Reply("late", delay=1.0))
    async with make_client(fake_time, timeout_s=0.1, retries=1) as client:
        with pytest.raises(DownloadError, match=r"no answer within 0\.1 s"):
            await client.get(upstream.url("/slow"))
    assert len(upstream.requests) == 2


async def test_a_truncated_body_is_fetched_again(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply("0123456789" * 100, truncate=True), Reply("whole"))
    async with make_client(fake_time) as client:
        assert (await client.get(upstream.url("/x"))).body == b"whole"
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_oversized_body_is_refused_without_retrying(upstream: Upstream, fake_time: FakeTime,
                                                             chunked: bool) -> None:
    upstream.serve("/big", Reply(b"x" * 5000, chunked=chunked))
    async with make_client(fake_time, max_bytes=1000) as client:
        with pytest.raises(DownloadError, match="over the limit of 1000"):
            await client.get(upstream.url("/big"))
    assert len(upstream.requests) == 1


async def test_conditional_requests_get_304(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply("body", etag='"abc"'))
    async with make_client(fake_time) as client:
        first = await client.get(upstream.url("/x"))
        second = await client.get(upstream.url("/x"), validator=first.validator)
    assert second.not_modified and second.body == b""
    assert upstream.requests[1].headers["If-None-Match"] == '"abc"'
    assert "If-None-Match" not in upstream.requests[0].headers


async def test_last_modified_is_sent_back(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply("body"))
    async with make_client(fake_time) as client:
        await client.get(upstream.url("/x"), validator=Validator(None, "Tue, 09 Jul 2024 04:00:00 GMT"))
    assert upstream.requests[0].headers["If-Modified-Since"] == "Tue, 09 Jul 2024 04:00:00 GMT"


async def test_requests_to_one_host_keep_their_interval(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply("ok"))
    async with make_client(fake_time, request_interval_s=3.0) as client:
        for _ in range(3):
            await client.get(upstream.url("/x"))
    assert fake_time.sleeps == [3.0, 3.0]


async def test_a_host_override_sets_its_own_interval(upstream: Upstream, fake_time: FakeTime) -> None:
    upstream.serve("/x", Reply("ok"))
    async with make_client(fake_time, request_interval_s=1.0, host_intervals={"127.0.0.1": 0.0}) as client:
        for _ in range(3):
            await client.get(upstream.url("/x"))
    assert fake_time.sleeps == []


@pytest.mark.parametrize(("jitter", "attempt", "expected"), [(1.0, 0, 1.0), (0.0, 0, 0.5), (1.0, 2, 4.0),
                                                             (1.0, 10, 8.0)])
def test_backoff_doubles_with_jitter_and_a_ceiling(jitter: float, attempt: int, expected: float) -> None:
    client = make_client(FakeTime())
    client._jitter = lambda: jitter
    assert client.backoff(attempt) == expected


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 5 ", 5.0), ("Tue, 09 Jul 2024 12:01:00 GMT", 60.0), ("Tue, 09 Jul 2024 11:00:00 GMT", 0.0),
    ("soon", None), ("", None), (None, None),
])
def test_retry_after_reads_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=dt.datetime(2024, 7, 9, 12, 0, tzinfo=dt.UTC)) == seconds


async def test_download_for_ingest_keeps_its_contract(upstream: Upstream) -> None:
    upstream.serve("/digest.json", Reply("[]"))
    assert await download(upstream.url("/digest.json"), max_bytes=100) == b"[]"
    with pytest.raises(DownloadError, match="over the limit of 1"):
        await download(upstream.url("/digest.json"), max_bytes=1)
