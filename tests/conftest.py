"""Shared fixtures: a real temporary SQLite database, fixture paths, a fixed clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "paperboy.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def today() -> dt.date:
    return dt.date(2025, 9, 10)
