"""The sources and the poller against the loopback upstream: paging, empty days, 304s, failures
and back-off, a digest that grows during the day, an interrupted backfill resumed."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.sources.arxiv_api import ArxivApiSource
from bot.sources.arxiv_rss import ArxivRssSource
from bot.sources.hf_daily import HfDailySource
from bot.sources.inbox import Inbox
from bot.sources.poller import Poller, PollPolicy, schedule_polling
from storage import digests as digest_repo
from storage import fetch_state
from storage.db import Database
from storage.errors import ConnectionLost
from storage.loader import Loader
from tests.bot.sources.upstream import (
    NOW,
    FakeTime,
    Recorder,
    Reply,
    Upstream,
    fixture_reply,
    hf_items,
    hf_page,
    make_client,
)

DAY = NOW.date()  # 2024-07-09, a Tuesday
MakePoller = Callable[..., Poller]


def hf(upstream: Upstream, page_size: int = 100) -> HfDailySource:
    return HfDailySource(upstream.url(), page_size=page_size)


def serve_hf(upstream: Upstream, day: dt.date, pages: list[list[dict[str, object]]], page_size: int,
             etag: str | None = None) -> None:
    for number, items in enumerate([*pages, []]):
        upstream.serve(f"/api/daily_papers?date={day}&limit={page_size}&p={number}",
                       hf_page(items, etag=f"{etag}-{number}" if etag else None))


async def stored_ids(db: Database, source: str, day: dt.date) -> list[str | None]:
    digest = await digest_repo.find_digest(db, date=day, source=source)
    assert digest is not None, f"no {source} digest of {day}"
    return [e.paper.arxiv_id for e in await digest_repo.digest_entries(db, digest.id)]


async def test_all_pages_of_a_day_become_one_digest_in_one_load(upstream: Upstream, make_poller: MakePoller,
                                                                db: Database) -> None:
    items = hf_items()
    serve_hf(upstream, DAY, [items[0:2], items[2:4], items[4:5]], page_size=2)
    hook = Recorder()
    outcome = await make_poller([hf(upstream, 2)], on_loaded=hook).fetch_day(hf(upstream, 2), DAY)
    assert (outcome.status, outcome.papers, outcome.new, outcome.date) == ("loaded", 5, 5, DAY)
    assert [r.query["p"] for r in upstream.requests] == ["0", "1", "2", "3"]
    [[result]] = hook.calls  # one load, one digest
    assert result.papers == 5
    assert await stored_ids(db, "hf-daily", DAY) == [i["paper"]["id"] for i in items]  # type: ignore[index]


async def test_an_empty_day_is_expected_not_a_failure(upstream: Upstream, make_poller: MakePoller,
                                                      db: Database) -> None:
    serve_hf(upstream, DAY, [], page_size=100)
    outcome = await make_poller([]).fetch_day(hf(upstream), DAY)
    assert outcome.status == "empty" and outcome.error is None
    status = await fetch_state.get_status(db, "hf-daily")
    assert (status.last_outcome, status.consecutive_failures, status.backoff_until) == ("empty", 0, None)
    assert await digest_repo.list_digests(db) == []


async def test_an_unchanged_day_costs_304s_and_loads_nothing(upstream: Upstream, make_poller: MakePoller) -> None:
    items = hf_items()
    serve_hf(upstream, DAY, [items[0:2], items[2:5]], page_size=3, etag="v1")
    hook = Recorder()
    poller = make_poller([], on_loaded=hook)
    assert (await poller.fetch_day(hf(upstream, 3), DAY)).status == "loaded"
    again = await poller.fetch_day(hf(upstream, 3), DAY)
    assert again.status == "unchanged"
    assert len(hook.calls) == 1
    second = upstream.requests[3:]
    assert [r.headers.get("If-None-Match") for r in second] == ["v1-0", "v1-1", "v1-2"]


async def test_pages_answering_304_are_fetched_again_when_another_page_changed(
        upstream: Upstream, make_poller: MakePoller, db: Database) -> None:
    items = hf_items()
    serve_hf(upstream, DAY, [items[0:2], items[2:3]], page_size=2, etag="v1")
    poller = make_poller([])
    await poller.fetch_day(hf(upstream, 2), DAY)
    # Page 1 gains a paper (new ETag); pages 0 and 2 are unchanged.
    upstream.serve(f"/api/daily_papers?date={DAY}&limit=2&p=1", hf_page(items[2:4], etag="v2-1"))
    upstream.serve(f"/api/daily_papers?date={DAY}&limit=2&p=2", hf_page([], etag="v1-2"))
    upstream.serve(f"/api/daily_papers?date={DAY}&limit=2&p=3", hf_page([]))
    outcome = await poller.fetch_day(hf(upstream, 2), DAY)
    assert (outcome.status, outcome.papers, outcome.new) == ("loaded", 4, 1)
    assert len(await stored_ids(db, "hf-daily", DAY)) == 4


async def test_a_digest_that_grows_during_the_day_is_updated_through_the_loader(
        upstream: Upstream, make_poller: MakePoller, db: Database) -> None:
    items = hf_items()
    url = f"/api/daily_papers?date={DAY}&limit=100&p="
    upstream.serve(url + "0", hf_page(items[:3], etag="morning"))
    upstream.serve(url + "1", hf_page([]))
    hook = Recorder()
    policy = PollPolicy(recheck=dt.timedelta(hours=1))
    poller = make_poller([hf(upstream)], on_loaded=hook, policy=policy)
    first = await poller.poll_once(NOW)
    assert [o.status for o in first.outcomes] == ["loaded"]
    # Within the re-check interval a loaded day is left alone.
    assert (await poller.poll_once(NOW + dt.timedelta(minutes=15))).outcomes == []
    upstream.serve(url + "0", hf_page(items, etag="afternoon"))
    later = await poller.poll_once(NOW + dt.timedelta(hours=2))
    [outcome] = later.outcomes
    assert (outcome.status, outcome.papers, outcome.new) == ("loaded", 5, 2)
    assert [len(call[0].paper_ids) for call in hook.calls] == [3, 5]
    assert [(d.source, d.date, d.papers) for d in await digest_repo.list_digests(db)] == [("hf-daily", DAY, 5)]


async def test_a_body_that_is_not_json_fails_the_source_and_it_backs_off(
        upstream: Upstream, make_poller: MakePoller, db: Database) -> None:
    upstream.serve("/api/daily_papers", fixture_reply("sources/proxy-error.html"))
    upstream.serve("/rss/cs.LG", fixture_reply("arxiv-rss-sample.xml"))
    policy = PollPolicy(backoff_base=dt.timedelta(minutes=10))
    poller = make_poller([hf(upstream), ArxivRssSource("cs.LG", upstream.url())], policy=policy)
    report = await poller.poll_once(NOW)
    by_source = {o.source: o for o in report.outcomes}
    assert by_source["hf-daily"].status == "failed"
    assert "/api/daily_papers?date=2024-07-09" in (by_source["hf-daily"].error or "")
    assert by_source["arxiv-rss:cs.LG"].status == "loaded"  # the other source carries on
    status = await fetch_state.get_status(db, "hf-daily")
    assert (status.consecutive_failures, status.backoff_until) == (1, NOW + dt.timedelta(minutes=10))

    before = len(upstream.requests)
    await poller.poll_once(NOW + dt.timedelta(minutes=5))  # backing off: not asked
    assert not any("daily_papers" in p for p in upstream.paths()[before:])
    await poller.poll_once(NOW + dt.timedelta(minutes=11))
    status = await fetch_state.get_status(db, "hf-daily")
    assert (status.consecutive_failures, status.backoff_until) == (2, NOW + dt.timedelta(minutes=31))
    forced = await poller.poll_once(NOW + dt.timedelta(minutes=12), force=True)  # paperboy fetch
    assert "hf-daily" in {o.source for o in forced.outcomes}


async def test_a_cut_off_json_body_is_a_failure_naming_the_url(upstream: Upstream, make_poller: MakePoller) -> None:
    body = json.dumps(hf_items())
    upstream.serve("/api/daily_papers", Reply(body[: len(body) // 2]))
    outcome = await make_poller([]).fetch_day(hf(upstream), DAY)
    assert outcome.status == "failed"
    assert "daily_papers" in (outcome.error or "") and "invalid JSON" in (outcome.error or "")


def many_hf_items(count: int) -> list[dict[str, object]]:
    """`count` distinct items, copies of a recorded one with their own arXiv ids."""
    template = json.dumps(hf_items()[0])
    items = []
    for i in range(count):
        item = json.loads(template)
        item["paper"]["id"] = f"2407.{i:05d}"
        items.append(item)
    return items


async def test_a_page_listing_more_papers_than_asked_for_is_refused(upstream: Upstream, make_poller: MakePoller,
                                                                   db: Database) -> None:
    """A server that ignores `limit` (3,000 items for 100) fails the fetch at its first page:
    nothing is loaded and no further page is asked for."""
    serve_hf(upstream, DAY, [many_hf_items(3000), hf_items()], page_size=100)
    outcome = await make_poller([]).fetch_day(hf(upstream), DAY)
    assert outcome.status == "failed"
    assert f"/api/daily_papers?date={DAY}&limit=100&p=0" in (outcome.error or "")
    assert "the page lists 3,000 papers, more than the 100 asked for; nothing of it was loaded" in (outcome.error or "")
    assert [r.query["p"] for r in upstream.requests] == ["0"]
    assert await digest_repo.list_digests(db) == []


async def test_paging_stops_at_the_most_papers_a_day_may_have(upstream: Upstream, make_poller: MakePoller,
                                                              db: Database, caplog: pytest.LogCaptureFixture) -> None:
    """Pages of the size asked for, without end: the day keeps `max_papers` and says so."""
    source = HfDailySource(upstream.url(), page_size=2, max_papers=5)
    serve_hf(upstream, DAY, [many_hf_items(2)[:2], many_hf_items(4)[2:4], many_hf_items(6)[4:6]], page_size=2)
    upstream.serve(f"/api/daily_papers?date={DAY}&limit=2&p=3", hf_page(many_hf_items(8)[6:8]))  # never empty
    with caplog.at_level(logging.WARNING):
        outcome = await make_poller([]).fetch_day(source, DAY)
    assert (outcome.status, outcome.papers, outcome.note) == ("loaded", 5, "paging stopped at 5 papers")
    assert [r.query["p"] for r in upstream.requests] == ["0", "1", "2"]
    assert await stored_ids(db, "hf-daily", DAY) == [f"2407.{i:05d}" for i in range(5)]
    assert "paging stopped at 5 papers (hf_max_papers)" in caplog.text


async def test_persistent_500s_fail_after_the_retries_and_validators_are_not_saved(
        upstream: Upstream, make_poller: MakePoller, db: Database, fake_time: FakeTime) -> None:
    upstream.serve("/api/daily_papers", Reply(status=500))
    outcome = await make_poller([], retries=2).fetch_day(hf(upstream), DAY)
    assert outcome.status == "failed" and "HTTP 500" in (outcome.error or "")
    assert len(upstream.requests) == 3 and fake_time.sleeps == [1.0, 2.0]
    assert await fetch_state.get_validator(db, upstream.url(f"/api/daily_papers?date={DAY}&limit=100&p=0")) is None


async def test_rss_categories_share_cross_listed_papers(upstream: Upstream, make_poller: MakePoller,
                                                       db: Database) -> None:
    upstream.serve("/rss/cs.LG", fixture_reply("arxiv-rss-sample.xml", etag="lg"))
    upstream.serve("/rss/cs.CL", fixture_reply("sources/arxiv-rss-cs.CL.xml", etag="cl"))
    sources = [ArxivRssSource(c, upstream.url()) for c in ("cs.LG", "cs.CL")]
    hook = Recorder()
    report = await make_poller(sources, on_loaded=hook).poll_once(NOW)
    assert sorted((o.source, o.status, o.papers) for o in report.outcomes) == [
        ("arxiv-rss:cs.CL", "loaded", 1), ("arxiv-rss:cs.LG", "loaded", 2)]  # replace-cross left out
    assert await stored_ids(db, "arxiv-rss:cs.LG", DAY) == ["2407.05000", "2406.01125"]
    assert await stored_ids(db, "arxiv-rss:cs.CL", DAY) == ["2407.05000"]
    assert sum(r.new for call in hook.calls for r in call) == 2  # LoRA-GA is one paper


async def test_an_rss_feed_of_an_earlier_day_is_not_yet_today(upstream: Upstream, make_poller: MakePoller) -> None:
    upstream.serve("/rss/cs.LG", fixture_reply("arxiv-rss-sample.xml"))
    poller = make_poller([])
    source = ArxivRssSource("cs.LG", upstream.url())
    assert (await poller.fetch_day(source, DAY)).status == "loaded"
    tomorrow = await poller.fetch_day(source, DAY + dt.timedelta(days=1))
    assert (tomorrow.status, tomorrow.date) == ("not-yet", DAY)


async def test_a_weekend_rss_feed_is_an_empty_day(upstream: Upstream, make_poller: MakePoller) -> None:
    upstream.serve("/rss/cs.LG", fixture_reply("sources/arxiv-rss-weekend.xml"))
    outcome = await make_poller([]).fetch_day(ArxivRssSource("cs.LG", upstream.url()), dt.date(2024, 7, 13))
    assert (outcome.status, outcome.date, outcome.error) == ("empty", dt.date(2024, 7, 13), None)


async def test_the_arxiv_api_query_is_paged_politely(upstream: Upstream, make_poller: MakePoller,
                                                     fake_time: FakeTime, db: Database) -> None:
    upstream.serve("/api/query", fixture_reply("sources/arxiv-api-page-0.xml"),
                   fixture_reply("sources/arxiv-api-page-1.xml"))
    source = ArxivApiSource('au:"Dao"', upstream.url(), page_size=2)
    outcome = await make_poller([], host_intervals={"127.0.0.1": 3.0}).fetch_day(source, DAY)
    assert (outcome.status, outcome.papers) == ("loaded", 3)
    assert [r.query["start"] for r in upstream.requests] == ["0", "2"]
    assert upstream.requests[0].query["search_query"] == '(au:"Dao") AND submittedDate:[202407080000 TO 202407082359]'
    assert fake_time.sleeps == [3.0]
    assert len(await stored_ids(db, "arxiv-api", DAY)) == 3


async def test_an_arxiv_api_day_without_matches_is_empty(upstream: Upstream, make_poller: MakePoller) -> None:
    upstream.serve("/api/query", fixture_reply("sources/arxiv-api-empty.xml"))
    outcome = await make_poller([]).fetch_day(ArxivApiSource("cat:cs.LG", upstream.url()), DAY)
    assert outcome.status == "empty"


async def test_an_interrupted_backfill_resumes_where_it_stopped(upstream: Upstream, make_poller: MakePoller,
                                                                db: Database) -> None:
    items = hf_items()
    days = [DAY + dt.timedelta(days=i) for i in range(4)]
    for i, day in enumerate(days):
        serve_hf(upstream, day, [items[i:i + 2]], page_size=100)
    broken = f"/api/daily_papers?date={days[2]}&limit=100&p=0"
    upstream.serve(broken, Reply(status=503))
    poller = make_poller([], retries=0)
    first = await poller.backfill([hf(upstream)], days[0], days[-1])
    assert [(o.date, o.status) for o in first] == [(days[0], "loaded"), (days[1], "loaded"), (days[2], "failed")]

    upstream.serve(broken, hf_page(items[2:4]))
    upstream.requests.clear()
    second = await poller.backfill([hf(upstream)], days[0], days[-1])
    assert [(o.date, o.status) for o in second] == [(days[2], "loaded"), (days[3], "loaded")]
    assert {r.query["date"] for r in upstream.requests} == {days[2].isoformat(), days[3].isoformat()}
    assert await poller.backfill([hf(upstream)], days[0], days[-1]) == []
    rss = await poller.backfill([ArxivRssSource("cs.LG", upstream.url())], days[0], days[-1])
    assert [o.status for o in rss] == ["skipped"]


async def test_nothing_is_polled_outside_the_window(upstream: Upstream, make_poller: MakePoller) -> None:
    serve_hf(upstream, DAY, [], page_size=100)
    policy = PollPolicy(window_start=dt.time(6, 0), window_end=dt.time(10, 0))
    poller = make_poller([hf(upstream)], policy=policy)
    assert (await poller.poll_once(NOW)).outcomes == []  # 12:00 UTC
    assert upstream.requests == []
    assert [o.status for o in (await poller.poll_once(NOW.replace(hour=7))).outcomes] == ["empty"]


async def test_a_failing_on_loaded_hook_does_not_fail_the_fetch(upstream: Upstream, make_poller: MakePoller) -> None:
    serve_hf(upstream, DAY, [hf_items()[:1]], page_size=100)

    async def broken(results: object) -> None:
        raise RuntimeError("notifications are down")

    outcome = await make_poller([], on_loaded=broken).fetch_day(hf(upstream), DAY)
    assert outcome.status == "loaded"


async def test_a_lost_archive_connection_pauses_the_poll_in_one_warning_and_backs_nothing_off(
        upstream: Upstream, make_poller: MakePoller, db: Database, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    items = hf_items()[:1]
    serve_hf(upstream, DAY, [items], page_size=100)
    poller = make_poller([hf(upstream)])
    load_many = poller.loader.load_many

    async def server_restarting_once(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(poller.loader, "load_many", load_many)  # back for the next poll
        raise ConnectionLost("the connection to PostgreSQL at postgresql://db/paperboy was lost; try again in a moment")

    monkeypatch.setattr(poller.loader, "load_many", server_restarting_once)
    with caplog.at_level(logging.WARNING):
        await poller.kick()
        assert [(rec.levelno, rec.getMessage(), rec.exc_info) for rec in caplog.records] == [
            (logging.WARNING, "fetch poll paused: the connection to PostgreSQL at postgresql://db/paperboy was lost; "
                              "try again in a moment", None)]
        assert not (await fetch_state.get_status(db, "hf-daily")).backing_off(NOW)  # not the source's failure
        caplog.clear()
        await poller.kick()
        assert caplog.records == []
    assert await stored_ids(db, "hf-daily", DAY) == [i["paper"]["id"] for i in items]


async def test_the_inbox_loads_files_and_moves_them(tmp_path: Path, db: Database, fixtures: Path) -> None:
    inbox_dir = tmp_path / "inbox"
    inbox_dir.mkdir()
    (inbox_dir / "cs.LG.xml").write_bytes((fixtures / "arxiv-rss-sample.xml").read_bytes())
    (inbox_dir / "broken.json").write_text('[{"paper": ')
    (inbox_dir / "copying.json.part").write_text("[]")
    hook = Recorder()
    poller = Poller(db, Loader(db), make_client(FakeTime()), [], inbox=Inbox(inbox_dir, settle_s=0.0),
                    clock=lambda: NOW, on_loaded=hook)
    [outcome] = (await poller.poll_once(NOW)).outcomes
    await poller.close()
    assert (outcome.source, outcome.status, outcome.papers) == ("inbox", "failed", 2)
    assert sorted(p.name for p in inbox_dir.iterdir() if p.is_file()) == ["copying.json.part"]
    assert (inbox_dir / "processed" / "cs.LG.xml").is_file()
    error = (inbox_dir / "failed" / "broken.json.error.txt").read_text()
    assert "broken.json" in error and "invalid JSON" in error
    assert [r.source for call in hook.calls for r in call] == ["arxiv-rss:cs.LG"]


async def test_an_inbox_file_still_being_written_waits(tmp_path: Path, db: Database) -> None:
    (tmp_path / "new.json").write_text("[]")
    assert Inbox(tmp_path, settle_s=3600).waiting() == []


async def test_polling_is_registered_as_one_interval_job(make_poller: MakePoller) -> None:
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    poller = make_poller([], policy=PollPolicy(interval=dt.timedelta(minutes=20)))
    job = schedule_polling(scheduler, poller)
    assert job.id == "fetch-poll"
    assert job.trigger.interval == dt.timedelta(minutes=20)
    assert scheduler.get_job("fetch-poll") is not None
