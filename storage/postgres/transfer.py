"""PostgreSQL's table reader and writer for `paperboy migrate-db` (storage/transfer.py has the why).

The neutral values are asyncpg's own (date, aware datetime, bool, JSON values through the jsonb
codec), so nothing is converted here. The writer uses COPY (`copy_records_to_table`, binary) in
chunks on a connection of its own, which encodes jsonb in binary as COPY needs; the search
column is filled by its trigger, and the identity sequences are moved past the copied ids at the
end.
The reader reads one REPEATABLE READ snapshot, so a bot writing meanwhile does not skew the copy.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from storage import transfer
from storage.errors import DatabaseUnavailable
from storage.postgres.db import PostgresDatabase
from storage.transfer import CACHES, TABLES, Row, Table, TransferError

_JSONB_VERSION = b"\x01"  # jsonb's binary form: a version byte, then the JSON text


class PostgresTables:
    """Reads (and, inside the writer's transaction, writes) one PostgreSQL database's tables.
    Table and column names in its SQL come from storage.transfer.TABLES, never from input."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def count(self, table: Table) -> int:
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {table.name}"))  # noqa: S608 - names from TABLES

    async def chunks(self, table: Table, size: int) -> AsyncIterator[list[Row]]:
        sql = f"SELECT {', '.join(table.names)} FROM {table.name} ORDER BY {', '.join(table.key)}"  # noqa: S608
        chunk: list[Row] = []
        async for record in self.conn.cursor(sql, prefetch=size):
            chunk.append(tuple(record))
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    # -- writing ----------------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        return {t.name: await self.count(t) for t in TABLES}

    async def clear(self, tables: bool) -> None:
        names = [*CACHES, *(t.name for t in TABLES)] if tables else list(CACHES)
        await self.conn.execute(f"TRUNCATE {', '.join(names)} RESTART IDENTITY")

    async def write(self, table: Table, rows: list[Row]) -> None:
        try:
            await self.conn.copy_records_to_table(table.name, records=rows, columns=table.names)
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, asyncpg.InterfaceError,
                ValueError, TypeError) as exc:
            # A value PostgreSQL cannot hold (a NUL in text, a number too large for integer) or
            # that breaks a rule SQLite did not check: name the table; the copy is rolled back.
            raise TransferError(f"PostgreSQL refused a row of {table.name}: "
                                f"{exc.__class__.__name__}: {_first_line(exc)}") from None

    async def finish(self) -> None:
        for table in TABLES:
            if table.identity:
                # The next id handed out follows the highest copied one (1 for an empty table).
                await self.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{table.identity}'), "  # noqa: S608
                    f"COALESCE((SELECT max({table.identity}) FROM {table.name}), 0) + 1, false)")
        await self.conn.execute(f"ANALYZE {', '.join(t.name for t in TABLES)}")

    def reader(self) -> PostgresTables:
        return self


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else "no details"


@transfer.stored_columns.register(PostgresDatabase)
async def stored_columns(db: PostgresDatabase) -> dict[str, set[str]]:
    rows = await db.fetchall(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " AND c.is_generated = 'NEVER' AND c.table_name NOT IN ('schema_migrations', 'search_versions')"
        # Derived from the row by a trigger (migration 0020; a generated column before).
        " AND NOT (c.table_name = 'papers' AND c.column_name = 'search')")
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], set()).add(row["column_name"])
    return found


@transfer.read_tables.register(PostgresDatabase)
@asynccontextmanager
async def read_tables(db: PostgresDatabase) -> AsyncIterator[PostgresTables]:
    async with db.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        yield PostgresTables(conn)


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + json.dumps(value, ensure_ascii=False).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


@transfer.write_tables.register(PostgresDatabase)
@asynccontextmanager
async def write_tables(db: PostgresDatabase) -> AsyncIterator[PostgresTables]:
    try:
        conn = await asyncpg.connect(db.url)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(f"cannot reach PostgreSQL at {db.location}: {_first_line(exc)}") from None
    try:
        # COPY writes binary, and the pool's jsonb codec is text: this connection has its own.
        await conn.set_type_codec("jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog",
                                  format="binary")
        async with conn.transaction():
            yield PostgresTables(conn)
    finally:
        await conn.close()
