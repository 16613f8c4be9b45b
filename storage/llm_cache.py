"""The model-written summaries' cache and the model's daily usage (issue #19, bot/llm/).

Two kinds of text are cached, each in its own table: a paper's one-line TL;DR ("tldr", by paper)
and a digest's "today in papers" paragraph ("overview", by digest). Both are keyed by the model
and the prompt's version, so changing either asks afresh while the old answers stay (switching
back finds them). A row with `text` None records an answer the checks dropped, with the reason.
Usage is counted per UTC day and model. The SQL: storage/sqlite/llm_cache.py,
storage/postgres/llm_cache.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend

# kind -> (table, the column naming what it summarises); names are fixed here, never user input.
TABLES = {"tldr": ("llm_tldrs", "paper_id"), "overview": ("llm_overviews", "digest_id")}
ORIGINS = ("model", "source")
USAGE_COUNTERS = ("requests", "prompt_tokens", "completion_tokens", "failures", "rejected", "extractive_posts")


def add_usage_sql(marks: Sequence[str]) -> str:
    """The statement adding one call's counts to the day's row, with each backend's placeholders
    (`marks`, one per value: day, model, the counters, problem, its time, post note). Counters add
    up; the last problem and note are replaced only by newer ones. Both backends speak this SQL."""
    columns = ("day", "model", *USAGE_COUNTERS, "last_problem", "last_problem_at", "last_post_note")
    if len(marks) != len(columns):
        raise ValueError(f"add_usage_sql needs {len(columns)} placeholders, got {len(marks)}")
    return (f"INSERT INTO llm_usage ({', '.join(columns)}) VALUES ({', '.join(marks)})"  # noqa: S608
            " ON CONFLICT (day, model) DO UPDATE SET "
            + ", ".join(f"{c} = llm_usage.{c} + excluded.{c}" for c in USAGE_COUNTERS)
            + ", last_problem = COALESCE(excluded.last_problem, llm_usage.last_problem),"
              " last_problem_at = COALESCE(excluded.last_problem_at, llm_usage.last_problem_at),"
              " last_post_note = COALESCE(excluded.last_post_note, llm_usage.last_post_note)")


def table_of(kind: str) -> tuple[str, str]:
    """(table, subject column) of a kind of cached text; a ValueError naming the kinds otherwise."""
    try:
        return TABLES[kind]
    except KeyError:
        raise ValueError(f"no cached text of kind {kind!r}; the kinds are {', '.join(TABLES)}") from None


@dataclass(slots=True, frozen=True)
class Cached:
    """One cached answer: its text, or None with the `problem` the checks found."""

    subject_id: int
    input_hash: str
    text: str | None
    problem: str | None
    origin: str  # "model", or "source" (the source's own summary: no request was made)
    tokens: int
    created_at: dt.datetime


@dataclass(slots=True, frozen=True)
class Usage:
    """One UTC day's use of one model."""

    day: dt.date
    model: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failures: int = 0  # requests that got no usable answer (timeout, HTTP error, malformed JSON)
    rejected: int = 0  # answers the checks dropped
    extractive_posts: int = 0  # daily posts rendered without (all of) the model's text
    last_problem: str | None = None
    last_problem_at: dt.datetime | None = None
    last_post_note: str | None = None  # why the last post went out without (all) the model's text

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@per_backend
async def get_cached(db: Database, kind: str, subject_ids: Sequence[int], model: str,
                     prompt_version: int) -> dict[int, Cached]:
    """The cached answers of `kind` for these papers or digests, by id (ids without one are absent)."""
    raise NotImplementedError


@per_backend
async def put_cached(db: Database, kind: str, subject_id: int, model: str, prompt_version: int, *,
                     input_hash: str, text: str | None, problem: str | None = None, origin: str = "model",
                     tokens: int = 0, now: dt.datetime | None = None) -> None:
    """Store an answer (or, with `text` None, the `problem` that dropped it), replacing the one
    cached for the same subject, model and prompt version."""
    raise NotImplementedError


@per_backend
async def add_usage(db: Database, day: dt.date, model: str, *, requests: int = 0, prompt_tokens: int = 0,
                    completion_tokens: int = 0, failures: int = 0, rejected: int = 0, extractive_posts: int = 0,
                    problem: str | None = None, post_note: str | None = None,
                    now: dt.datetime | None = None) -> None:
    """Add to the day's counters of `model`; `problem`, when given, becomes the last problem met,
    and `post_note` the reason the last post went out without the model's text."""
    raise NotImplementedError


@per_backend
async def get_usage(db: Database, day: dt.date, model: str) -> Usage:
    """The day's counters of `model` (zeros when nothing was counted)."""
    raise NotImplementedError


@per_backend
async def tokens_on(db: Database, day: dt.date) -> int:
    """Tokens spent on `day` by every model: what the daily budget is measured against."""
    raise NotImplementedError
