"""The model-written summaries' cache and daily usage counters, the same on both backends (issue #19)."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import llm_cache
from storage.address import is_postgres
from storage.db import Database

pytestmark = pytest.mark.both_backends

NOW = dt.datetime(2025, 9, 9, 6, 0, tzinfo=dt.UTC)


async def _paper_and_digest(db: Database) -> tuple[int, int]:
    """One paper and one digest, written as raw SQL per backend (the loader is ported separately)."""
    if is_postgres(db.location):
        paper = await db.fetchone(
            "INSERT INTO papers (title_key, title, abstract, first_listed, created_at, updated_at)"
            " VALUES ('p', 'P', 'A.', $1, $2, $2) RETURNING id", (NOW.date(), NOW))
        digest = await db.fetchone(
            "INSERT INTO digests (source, date, format, fetched_at, updated_at) VALUES ('hf-daily', $1, 'hf-page',"
            " $2, $2) RETURNING id", (NOW.date(), NOW))
    else:
        paper = await db.fetchone(
            "INSERT INTO papers (title_key, title, abstract, first_listed, created_at, updated_at)"
            " VALUES ('p', 'P', 'A.', '2025-09-09', 'x', 'x') RETURNING id")
        digest = await db.fetchone(
            "INSERT INTO digests (source, date, format, fetched_at, updated_at) VALUES ('hf-daily', '2025-09-09',"
            " 'hf-page', 'x', 'x') RETURNING id")
    assert paper is not None and digest is not None
    return int(paper[0]), int(digest[0])


async def test_answers_are_cached_by_subject_model_and_prompt_version(db: Database) -> None:
    paper, digest = await _paper_and_digest(db)
    assert await llm_cache.get_cached(db, "tldr", [paper], "m1", 1) == {}
    assert await llm_cache.get_cached(db, "tldr", [], "m1", 1) == {}
    await llm_cache.put_cached(db, "tldr", paper, "m1", 1, input_hash="h1", text="First.", tokens=40, now=NOW)
    await llm_cache.put_cached(db, "tldr", paper, "m2", 1, input_hash="h1", text=None, problem="states 99%", now=NOW)
    await llm_cache.put_cached(db, "overview", digest, "m1", 1, input_hash="d1", text="Today.", now=NOW)
    found = await llm_cache.get_cached(db, "tldr", [paper, paper + 1000], "m1", 1)
    assert list(found) == [paper]
    assert found[paper] == llm_cache.Cached(paper, "h1", "First.", None, "model", 40, NOW)
    dropped = (await llm_cache.get_cached(db, "tldr", [paper], "m2", 1))[paper]
    assert (dropped.text, dropped.problem) == (None, "states 99%")
    assert await llm_cache.get_cached(db, "tldr", [paper], "m1", 2) == {}
    assert (await llm_cache.get_cached(db, "overview", [digest], "m1", 1))[digest].text == "Today."
    # Replaced in place: the source's own summary, no tokens.
    await llm_cache.put_cached(db, "tldr", paper, "m1", 1, input_hash="h2", text="From HF.", origin="source", now=NOW)
    again = (await llm_cache.get_cached(db, "tldr", [paper], "m1", 1))[paper]
    assert (again.input_hash, again.text, again.origin, again.tokens) == ("h2", "From HF.", "source", 0)


async def test_an_unknown_kind_is_named(db: Database) -> None:
    with pytest.raises(ValueError, match="no cached text of kind 'poem'; the kinds are tldr, overview"):
        await llm_cache.get_cached(db, "poem", [1], "m", 1)


async def test_usage_adds_up_per_day_and_model(db: Database) -> None:
    day = NOW.date()
    assert await llm_cache.get_usage(db, day, "m1") == llm_cache.Usage(day, "m1")
    await llm_cache.add_usage(db, day, "m1", requests=2, prompt_tokens=300, completion_tokens=40, now=NOW)
    await llm_cache.add_usage(db, day, "m1", requests=1, failures=1, problem="timed out after 20 s", now=NOW)
    await llm_cache.add_usage(db, day, "m1", rejected=1, extractive_posts=1, post_note="went out extractive")
    await llm_cache.add_usage(db, day, "m2", requests=1, prompt_tokens=10, completion_tokens=5, now=NOW)
    await llm_cache.add_usage(db, day + dt.timedelta(days=1), "m1", requests=1, prompt_tokens=7)
    usage = await llm_cache.get_usage(db, day, "m1")
    assert usage == llm_cache.Usage(day, "m1", 3, 300, 40, 1, 1, 1, "timed out after 20 s", NOW,
                                   "went out extractive")
    assert usage.tokens == 340
    assert await llm_cache.tokens_on(db, day) == 355
    assert await llm_cache.tokens_on(db, day - dt.timedelta(days=1)) == 0
