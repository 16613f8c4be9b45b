"""PostgreSQL, the shared store for several Paperboy processes: its connection pool, migrations
and SQL, beside the SQLite modules (storage/sqlite/) that hold the same data the same way.

Importing the package registers its implementations of the repository functions (storage/dispatch.py).
"""

from storage.postgres import app_state, db, llm_cache  # noqa: F401  - registers the implementations

__all__ = ["app_state", "db", "llm_cache"]
