"""What the fetcher remembers between polls (validators, source health, days done), the same on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import fetch_state
from storage.db import Database
from storage.fetch_state import Validator
from tests.storage.raw import insert_digest

pytestmark = pytest.mark.both_backends

T0 = dt.datetime(2025, 9, 10, 6, tzinfo=dt.UTC)
DAY = dt.date(2025, 9, 10)


def minutes(failures: int) -> dt.timedelta:
    return dt.timedelta(minutes=failures)


async def test_validators_are_saved_replaced_and_forgotten(db: Database) -> None:
    url = "https://huggingface.co/api/daily_papers?date=2025-09-10"
    assert await fetch_state.get_validator(db, url) is None
    await fetch_state.save_validators(db, {url: Validator('"v1"', None, 50), "https://b": Validator(None, "Tue")}, T0)
    await fetch_state.save_validators(db, {url: Validator('"v2"', "Wed", 7)}, T0)
    assert await fetch_state.get_validator(db, url) == Validator('"v2"', "Wed", 7)
    assert await fetch_state.get_validator(db, "https://b") == Validator(None, "Tue", None)
    await fetch_state.save_validators(db, {url: Validator()}, T0)  # none left: forgotten
    assert await fetch_state.get_validator(db, url) is None
    await fetch_state.save_validators(db, {}, T0)


async def test_failures_count_and_back_off_until_a_success_clears_them(db: Database) -> None:
    first = await fetch_state.record_failure(db, "hf-daily", T0, "HTTP 502", minutes)
    second = await fetch_state.record_failure(db, "hf-daily", T0 + dt.timedelta(minutes=5), "HTTP 503", minutes)
    assert (first.consecutive_failures, first.backoff_until) == (1, T0 + dt.timedelta(minutes=1))
    assert (second.consecutive_failures, second.last_error, second.last_outcome) == (2, "HTTP 503", "failed")
    assert second.backoff_until == T0 + dt.timedelta(minutes=7)
    assert second.backing_off(T0 + dt.timedelta(minutes=6)) and not second.backing_off(T0 + dt.timedelta(minutes=7))
    later = T0 + dt.timedelta(hours=1)
    await fetch_state.record_success(db, "hf-daily", later, "loaded", DAY)
    status = await fetch_state.get_status(db, "hf-daily")
    assert (status.consecutive_failures, status.backoff_until, status.last_outcome) == (0, None, "loaded")
    assert (status.last_attempt_at, status.last_success_at, status.last_failure_at) == (
        later, later, T0 + dt.timedelta(minutes=5))
    assert (status.last_date, status.last_error) == (DAY, "HTTP 503")


async def test_the_newest_day_loaded_only_moves_forward(db: Database) -> None:
    await fetch_state.record_success(db, "arxiv-api", T0, "unchanged")
    assert (await fetch_state.get_status(db, "arxiv-api")).last_date is None
    await fetch_state.record_success(db, "arxiv-api", T0, "loaded", DAY)
    await fetch_state.record_success(db, "arxiv-api", T0, "loaded", DAY - dt.timedelta(days=3))  # a back-fill
    await fetch_state.record_success(db, "arxiv-api", T0, "empty")
    assert (await fetch_state.get_status(db, "arxiv-api")).last_date == DAY
    assert (await fetch_state.get_status(db, "never-polled")).last_attempt_at is None


async def test_a_failure_never_undoes_a_day_already_done(db: Database) -> None:
    earlier = DAY - dt.timedelta(days=1)
    await fetch_state.mark_day(db, "hf-daily", DAY, "loaded", T0, papers=12)
    await fetch_state.mark_day(db, "hf-daily", DAY, "failed", T0, error="HTTP 500")
    await fetch_state.mark_day(db, "hf-daily", earlier, "failed", T0, error="HTTP 500")
    await fetch_state.mark_day(db, "hf-daily", earlier, "empty", T0)
    await fetch_state.mark_day(db, "arxiv-api", DAY, "failed", T0, error="timeout")
    assert await fetch_state.day_statuses(db, "hf-daily", earlier, DAY) == {DAY: "loaded", earlier: "empty"}
    assert await fetch_state.day_statuses(db, "hf-daily", DAY, DAY) == {DAY: "loaded"}
    assert await fetch_state.day_statuses(db, "arxiv-api", earlier, earlier) == {}
    assert await fetch_state.day_statuses(db, "arxiv-api", earlier, DAY) == {DAY: "failed"}


async def test_source_status_lists_polled_configured_and_stored_digests(db: Database) -> None:
    await fetch_state.record_success(db, "hf-daily", T0, "loaded", DAY)
    await insert_digest(db, "hf-daily", DAY - dt.timedelta(days=1), papers=3)
    await insert_digest(db, "hf-daily", DAY + dt.timedelta(days=1), papers=0)  # an empty day is no digest
    await insert_digest(db, "inbox", DAY, papers=2)  # ingested, but neither polled nor configured
    listed = await fetch_state.source_status(db, ["hf-daily", "arxiv-rss:cs.LG"])
    assert [s.source for s in listed] == ["arxiv-rss:cs.LG", "hf-daily"]
    fresh, hf = listed
    assert (fresh.last_attempt_at, fresh.stored_digests, fresh.newest_digest) == (None, 0, None)
    assert (hf.stored_digests, hf.stored_newest, hf.newest_digest) == (1, DAY - dt.timedelta(days=1), DAY)
