"""`open_database` picks the backend an address names, and loads only that backend's driver."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, sys
from storage.backends import open_database

async def main(path):
    async with await open_database(path) as db:
        print(type(db).__name__, "asyncpg" in sys.modules)

asyncio.run(main(sys.argv[1]))
"""


def test_a_sqlite_address_opens_sqlite_without_importing_the_postgresql_driver(tmp_path: Path) -> None:
    # A fresh interpreter: the test session itself has long since imported asyncpg for other tests.
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "a.db")], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["SqliteDatabase", "False"]
