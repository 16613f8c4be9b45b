"""PostgreSQL's pool, migrations and schema, on a real throw-away server."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest

from storage.errors import DatabaseUnavailable, SchemaTooNew
from storage.postgres.db import PostgresDatabase, migrations


async def _tables(db: PostgresDatabase) -> set[str]:
    rows = await db.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


async def test_a_new_database_gets_every_table_the_sqlite_schema_has(pg_url: str) -> None:
    async with await PostgresDatabase.connect(pg_url) as db:
        tables = await _tables(db)
    assert {"papers", "digests", "digest_entries", "title_changes", "title_snapshot", "subscription_users",
            "subscriptions", "deliveries", "delivery_papers", "guild_schedules", "posts",
            "summary_term_counts", "fetch_validators", "fetch_sources", "fetch_days", "app_state",
            "schema_migrations"} <= tables


async def test_the_apps_statements_run_without_jit(pg_url: str) -> None:
    """JIT compiling cost short statements more than it saved (storage/postgres/db.py)."""
    async with await PostgresDatabase.connect(pg_url, min_size=2) as db:
        shown = await asyncio.gather(*(db.fetchall("SHOW jit") for _ in range(4)))  # several pooled connections
        assert {rows[0]["jit"] for rows in shown} == {"off"}
        async with db.atomic() as tx:
            assert (await tx.fetchall("SHOW jit"))[0]["jit"] == "off"


async def test_processes_starting_together_migrate_once(pg_url: str) -> None:
    opened = await asyncio.gather(*(PostgresDatabase.connect(pg_url) for _ in range(4)))
    try:
        rows = await opened[0].fetchall("SELECT version FROM schema_migrations")
        assert sorted(r["version"] for r in rows) == [v for v, _, _ in migrations()]
        again = await opened[1].migrate()
        assert again == []
    finally:
        for db in opened:
            await db.close()


async def test_a_schema_with_a_migration_this_build_lacks_is_refused(pg_url: str) -> None:
    async with await PostgresDatabase.connect(pg_url) as db:
        await db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
                         (9999, "9999_from_the_future.sql"))
    with pytest.raises(SchemaTooNew, match="9999"):
        await PostgresDatabase.connect(pg_url)


async def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        await PostgresDatabase.connect("postgresql://paperboy:s3cret@127.0.0.1:1/paperboy", min_size=0)
    message = str(caught.value)
    assert "cannot reach PostgreSQL at postgresql://paperboy@127.0.0.1:1/paperboy" in message
    assert "s3cret" not in message


async def _add_paper(db: PostgresDatabase, arxiv_id: str, title: str, abstract: str) -> int:
    now = dt.datetime.now(dt.UTC)
    row = await db.fetchone(
        "INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, first_listed, created_at, updated_at)"
        " VALUES ($1, lower($2), $2, $3, $4, $5, $6, $6) RETURNING id",
        (arxiv_id, title, abstract, ["A. Author"], dt.date(2025, 9, 9), now),
    )
    assert row is not None
    return int(row["id"])


async def test_full_text_column_follows_title_and_abstract_with_stemming(pg_url: str) -> None:
    async with await PostgresDatabase.connect(pg_url) as db:
        first = await _add_paper(db, "2509.00001", "Diffusion Models Denoise", "We train samplers.")
        await _add_paper(db, "2509.00002", "Graph Networks", "Message passing on molecules.")
        found = await db.fetchall(
            "SELECT id FROM papers WHERE search @@ websearch_to_tsquery('english', $1)", ("diffusion model training",))
        assert [r["id"] for r in found] == [first]
        await db.execute("UPDATE papers SET abstract = $1 WHERE id = $2", ("Nothing about that.", first))
        gone = await db.fetchall(
            "SELECT id FROM papers WHERE search @@ websearch_to_tsquery('english', $1)", ("samplers",))
        assert gone == []
        authors = await db.fetchone("SELECT authors FROM papers WHERE id = $1", (first,))
        assert authors is not None and authors["authors"] == ["A. Author"]


async def test_a_title_change_is_logged_and_announced_to_listeners(pg_url: str) -> None:
    async with await PostgresDatabase.connect(pg_url) as db:
        paper = await _add_paper(db, "2509.00003", "Old Title", "Text.")
        heard: asyncio.Queue[str] = asyncio.Queue()
        listener = await asyncpg.connect(pg_url)
        try:
            await listener.add_listener("paperboy_titles", lambda *args: heard.put_nowait(args[2]))
            await db.execute("UPDATE papers SET title = $1 WHERE id = $2", ("New Title", paper))
            await db.execute("UPDATE papers SET abstract = $1 WHERE id = $2", ("Other text.", paper))
            assert await asyncio.wait_for(heard.get(), 5) == "paperboy_titles"
        finally:
            await listener.close()
        logged = await db.fetchall("SELECT paper_id FROM title_changes WHERE through_id IS NULL ORDER BY seq")
        assert [r["paper_id"] for r in logged] == [paper]
