"""storage/llm_cache.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage import llm_cache
from storage.db import now_utc
from storage.llm_cache import USAGE_COUNTERS, Cached, Usage, add_usage_sql, table_of
from storage.postgres.db import PostgresDatabase

_ADD_USAGE = add_usage_sql([f"${n}" for n in range(1, 12)])


@llm_cache.get_cached.register(PostgresDatabase)
async def get_cached(db: PostgresDatabase, kind: str, subject_ids: Sequence[int], model: str,
                     prompt_version: int) -> dict[int, Cached]:
    table, column = table_of(kind)
    if not subject_ids:
        return {}
    rows = await db.fetchall(
        f"SELECT {column} AS subject, input_hash, text, problem, origin, tokens, created_at FROM {table}"  # noqa: S608
        f" WHERE model = $1 AND prompt_version = $2 AND {column} = ANY($3::bigint[])",
        (model, prompt_version, [int(i) for i in subject_ids]))
    return {int(r["subject"]): Cached(int(r["subject"]), r["input_hash"], r["text"], r["problem"], r["origin"],
                                      int(r["tokens"]), r["created_at"]) for r in rows}


@llm_cache.put_cached.register(PostgresDatabase)
async def put_cached(db: PostgresDatabase, kind: str, subject_id: int, model: str, prompt_version: int, *,
                     input_hash: str, text: str | None, problem: str | None = None, origin: str = "model",
                     tokens: int = 0, now: dt.datetime | None = None) -> None:
    table, column = table_of(kind)
    await db.execute(
        f"INSERT INTO {table} ({column}, model, prompt_version, input_hash, text, problem, origin, tokens,"  # noqa: S608
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        f" ON CONFLICT ({column}, model, prompt_version) DO UPDATE SET input_hash = excluded.input_hash,"
        " text = excluded.text, problem = excluded.problem, origin = excluded.origin, tokens = excluded.tokens,"
        " created_at = excluded.created_at",
        (subject_id, model, prompt_version, input_hash, text, problem, origin, tokens, now or now_utc()))


@llm_cache.add_usage.register(PostgresDatabase)
async def add_usage(db: PostgresDatabase, day: dt.date, model: str, *, requests: int = 0, prompt_tokens: int = 0,
                    completion_tokens: int = 0, failures: int = 0, rejected: int = 0, extractive_posts: int = 0,
                    problem: str | None = None, post_note: str | None = None,
                    now: dt.datetime | None = None) -> None:
    counts = (requests, prompt_tokens, completion_tokens, failures, rejected, extractive_posts)
    at = (now or now_utc()) if problem is not None else None
    await db.execute(_ADD_USAGE, (day, model, *counts, problem, at, post_note))


@llm_cache.get_usage.register(PostgresDatabase)
async def get_usage(db: PostgresDatabase, day: dt.date, model: str) -> Usage:
    row = await db.fetchone(
        f"SELECT {', '.join(USAGE_COUNTERS)}, last_problem, last_problem_at, last_post_note FROM llm_usage"  # noqa: S608
        " WHERE day = $1 AND model = $2", (day, model))
    if row is None:
        return Usage(day, model)
    counts = [int(row[c]) for c in USAGE_COUNTERS]
    return Usage(day, model, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], row["last_problem"],
                 row["last_problem_at"], row["last_post_note"])


@llm_cache.tokens_on.register(PostgresDatabase)
async def tokens_on(db: PostgresDatabase, day: dt.date) -> int:
    row = await db.fetchone("SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM llm_usage"
                            " WHERE day = $1", (day,))
    return int(row[0]) if row else 0
