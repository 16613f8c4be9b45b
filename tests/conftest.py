"""Shared fixtures: a real temporary database, fixture paths, a fixed clock.

`db` is a fresh SQLite file. A test module marked `pytestmark = pytest.mark.both_backends` (or
one test so marked) runs twice, once on SQLite and once on a fresh PostgreSQL database: the
storage API must behave the same on both. PostgreSQL comes from a throw-away server started once
per session (testkit/pg_server.py); without its programs those runs are skipped saying why,
unless PAPERBOY_REQUIRE_POSTGRES=1 (CI sets it): then a missing server is a failure.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from storage.backends import open_database
from storage.db import Database
from testkit import pg_server

FIXTURES = Path(__file__).parent / "fixtures"
BACKENDS = ("sqlite", "postgres")

_names = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_backends: run the test's `db` on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_address" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("db_address", BACKENDS, indirect=True)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def db_address(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where `db` lives: a SQLite file, or a PostgreSQL database when the test runs on both."""
    if getattr(request, "param", "sqlite") == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "paperboy.db")


@pytest.fixture
async def db(db_address: str) -> AsyncIterator[Database]:
    database = await open_database(db_address)
    try:
        yield database
    finally:
        await database.close()


def _pg_server() -> Iterator[pg_server.Server]:
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


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[pg_server.Server]:
    """The session's shared server."""
    yield from _pg_server()


@pytest.fixture
def own_pg_server() -> Iterator[pg_server.Server]:
    """A server of the test's own, which it may halt and resume without disturbing the others."""
    yield from _pg_server()


async def _admin(server: pg_server.Server, statement: str) -> None:
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture
def pg_url(pg_server_url: pg_server.Server) -> Iterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test.
    (A plain fixture, with its own short event loop: async fixtures may ask for it.)"""
    name = f"paperboy_test_{os.getpid()}_{next(_names)}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    yield pg_server_url.database_url(name)
    asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def today() -> dt.date:
    return dt.date(2025, 9, 10)
