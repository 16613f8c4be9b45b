"""A throw-away PostgreSQL server for the whole session, and a fresh database for each test.

Without PostgreSQL's server programs these tests are skipped, saying why, unless
PAPERBOY_REQUIRE_POSTGRES=1 (CI sets it): then a missing server is an error, never a silent skip.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from testkit import pg_server

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[pg_server.Server]:
    try:
        server = pg_server.start()
    except pg_server.ServerUnavailable as exc:
        if os.environ.get("PAPERBOY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here (PAPERBOY_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pg_url(pg_server_url: pg_server.Server) -> AsyncIterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    name = f"paperboy_test_{os.getpid()}_{next(_names)}"
    admin = await asyncpg.connect(pg_server_url.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield pg_server_url.database_url(name)
    admin = await asyncpg.connect(pg_server_url.url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
