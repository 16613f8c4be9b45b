"""The embedded backend: one SQLite file (WAL), FTS5 for text. The default and the quick start.

Importing the package registers its implementations of the repository functions (storage/dispatch.py).
"""

from storage.sqlite import app_state, db, llm_cache  # noqa: F401  - registers the implementations

__all__ = ["app_state", "db", "llm_cache"]
