"""asyncpg against psycopg 3 on the work Paperboy gives PostgreSQL (issue #16: pick the driver).

One throw-away server (testkit.pg_server), one database per driver, the same generated corpus and
the same statements for both; each case runs REPEAT times per driver, alternating drivers, and
reports the median (min-max) of wall time and of this process's CPU time (the driver's own cost:
the server's work is the same for both):

- bulk load: COPY of SIZE papers into a table with a weighted tsvector column (one transaction),
  then the GIN index built once;
- daily upsert: one digest of 2,000 papers as INSERT ... ON CONFLICT DO UPDATE, executemany;
- point reads: 5,000 look-ups of a paper by arXiv id, one round trip each (the chat commands'
  many small queries);
- search mix: the search bench's query words through websearch_to_tsquery, ranked by
  ts_rank_cd, LIMIT 10, 20 queries at once over a pool of 4 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from bench.common import BenchError, Machine, Row, spread
from bench.corpus import generate
from testkit import pg_server

NAME = "pg-drivers"
DESCRIPTION = "asyncpg vs psycopg 3 on PostgreSQL: COPY load, upsert, point reads, concurrent search"

SCHEMA = """
DROP TABLE IF EXISTS papers;
CREATE TABLE papers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arxiv_id    text UNIQUE,
    title       text NOT NULL,
    abstract    text NOT NULL,
    authors     jsonb NOT NULL DEFAULT '[]',
    first_listed date NOT NULL,
    upvotes     integer,
    search      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', abstract), 'B')
    ) STORED
);
"""
INDEX = "CREATE INDEX papers_search ON papers USING gin (search)"
COLUMNS = ("arxiv_id", "title", "abstract", "authors", "first_listed")
UPSERT = """
INSERT INTO papers (arxiv_id, title, abstract, authors, first_listed, upvotes)
VALUES ($1, $2, $3, $4::jsonb, $5, $6)
ON CONFLICT (arxiv_id) DO UPDATE SET upvotes = excluded.upvotes, title = excluded.title
"""
POINT = "SELECT id, title FROM papers WHERE arxiv_id = $1"
SEARCH = """
SELECT id, title, ts_rank_cd(search, q) AS rank
FROM papers, websearch_to_tsquery('english', $1) AS q
WHERE search @@ q ORDER BY rank DESC, id DESC LIMIT 10
"""
QUERIES = ["model", "diffusion", "language models", '"large language models"', "model -diffusion",
           "transformer or attention", "hyperpriors", '"probabilistic vector quantization"', "zzqxj",
           "reinforcement learning", "graph neural", "benchmark evaluation"]


class Driver(Protocol):
    name: str

    async def setup(self, url: str) -> None: ...
    async def close(self) -> None: ...
    async def execute(self, sql: str) -> None: ...
    async def copy(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    async def upsert(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    async def point(self, arxiv_id: str) -> Any: ...
    async def search(self, query: str) -> list[Any]: ...


class Asyncpg:
    name = "asyncpg"

    async def setup(self, url: str) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(url, min_size=4, max_size=4)

    async def close(self) -> None:
        await self.pool.close()

    async def execute(self, sql: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(sql)

    async def copy(self, rows: Sequence[tuple[Any, ...]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.copy_records_to_table("papers", records=rows, columns=COLUMNS)

    async def upsert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(UPSERT, rows)

    async def point(self, arxiv_id: str) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(POINT, arxiv_id)

    async def search(self, query: str) -> list[Any]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(SEARCH, query))


def _percent(sql: str) -> str:
    """asyncpg's $1 placeholders as psycopg's %s (the statements here use each one once, in order)."""
    import re

    return re.sub(r"\$\d+", "%s", sql)


class Psycopg:
    name = "psycopg"

    async def setup(self, url: str) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(url, min_size=4, max_size=4, open=False)
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def execute(self, sql: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(sql)

    async def copy(self, rows: Sequence[tuple[Any, ...]]) -> None:
        statement = f"COPY papers ({', '.join(COLUMNS)}) FROM STDIN"
        async with self.pool.connection() as conn, conn.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                await copy.write_row(row)

    async def upsert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(_percent(UPSERT), rows)

    async def point(self, arxiv_id: str) -> Any:
        async with self.pool.connection() as conn:
            cur = await conn.execute(_percent(POINT), (arxiv_id,), prepare=True)
            return await cur.fetchone()

    async def search(self, query: str) -> list[Any]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(_percent(SEARCH), (query,), prepare=True)
            return await cur.fetchall()


def _rows(size: int, seed: int) -> list[tuple[Any, ...]]:
    import datetime as dt

    rows = []
    for record in generate(size, seed):
        authors = [" ".join(p for p in (first, last) if p) for last, first, *_ in record["authors_parsed"]]
        created = record["versions"][0]["created"]
        day = dt.datetime.strptime(created, "%a, %d %b %Y %H:%M:%S %Z").date()
        rows.append((record["id"], record["title"], record["abstract"], json.dumps(authors), day))
    return rows


async def _timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await work()
    return time.perf_counter() - wall, time.process_time() - cpu


async def _measure(driver: Driver, url: str, rows: list[tuple[Any, ...]]) -> dict[str, tuple[float, float]]:
    await driver.setup(url)
    try:
        await driver.execute(SCHEMA)
        result = {"bulk load (COPY)": await _timed(lambda: driver.copy(rows))}
        result["GIN index"] = await _timed(lambda: driver.execute(INDEX))
        await driver.execute("ANALYZE papers")
        upserts = [(r[0], r[1], r[2], r[3], r[4], i % 300) for i, r in enumerate(rows[-2000:])]
        result["daily upsert 2,000"] = await _timed(lambda: driver.upsert(upserts))
        ids = [r[0] for r in rows[:: max(len(rows) // 5000, 1)]][:5000]

        async def points() -> None:
            for arxiv_id in ids:
                await driver.point(arxiv_id)

        result["5,000 point reads"] = await _timed(points)

        async def searches() -> None:
            await asyncio.gather(*(driver.search(QUERIES[i % len(QUERIES)]) for i in range(20)))

        for _ in range(2):  # warm the plans and pages before timing
            await searches()
        result["20 concurrent searches"] = await _timed(searches)
        return result
    finally:
        await driver.close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=3, help="runs per driver (default: %(default)s)")


def run(args: argparse.Namespace) -> list[Row]:
    sizes = args.sizes or [100_000]
    try:
        server = pg_server.start()
    except pg_server.ServerUnavailable as exc:
        raise BenchError(str(exc)) from None
    out: list[Row] = []
    try:
        for size in sizes:
            rows = _rows(size, args.seed)
            samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
            machine = Machine()
            for _ in range(args.repeat):
                for driver in (Asyncpg(), Psycopg()):
                    for case, figures in asyncio.run(_measure(driver, server.url, rows)).items():
                        samples.setdefault((case, driver.name), []).append(figures)
            for case in dict.fromkeys(c for c, _ in samples):
                values: dict[str, Any] = {"size": size}
                for name in ("asyncpg", "psycopg"):
                    runs = samples[(case, name)]
                    values[f"{name} wall s"] = spread([w for w, _ in runs])
                    values[f"{name} CPU s"] = spread([c for _, c in runs])
                medians = {n: statistics.median(w for w, _ in samples[(case, n)]) for n in ("asyncpg", "psycopg")}
                values["psycopg/asyncpg wall"] = round(medians["psycopg"] / max(medians["asyncpg"], 1e-9), 2)
                out.append(Row(NAME, case, values))
            out[-1].values.update(machine.values())
    finally:
        server.stop()
    return out
