"""bench ingest's databases on a server of `--server`: each load's own database on the same server."""

from __future__ import annotations

import pytest

from bench.ingest import database_url


@pytest.mark.parametrize(("admin", "expected"), [
    ("postgresql://bench@db.example/postgres", "postgresql://bench@db.example/bench_ingest_1"),
    ("postgresql://bench@db.example:5433/admin?sslmode=require",
     "postgresql://bench@db.example:5433/bench_ingest_1?sslmode=require"),
    ("postgresql://bench@db.example", "postgresql://bench@db.example/bench_ingest_1"),
])
def test_a_loads_database_is_named_on_the_given_server_with_its_options_kept(admin: str, expected: str) -> None:
    assert database_url(admin, "bench_ingest_1") == expected
