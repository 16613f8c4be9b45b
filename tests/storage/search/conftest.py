"""The prefix archive both search test modules use."""

from __future__ import annotations

import pytest

from storage.db import Database
from tests.storage.search.archive import prefixed_archive


@pytest.fixture
async def prefixed(db: Database) -> Database:
    return await prefixed_archive(db)
