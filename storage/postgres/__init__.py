"""PostgreSQL, the shared store for several Paperboy processes: its connection pool, migrations
and SQL, beside the SQLite modules (storage/sqlite/) that hold the same data the same way.

Importing the package registers its implementations of the repository functions (storage/dispatch.py).
"""

from storage.postgres import (  # noqa: F401  - registers the implementations
    app_state,
    db,
    fetch_state,
    guilds,
    loader,
    notifications,
    pending_matches,
    posts,
    sendlog,
    subscriptions,
)

__all__ = ["app_state", "db", "fetch_state", "guilds", "loader", "notifications", "pending_matches", "posts",
           "sendlog", "subscriptions"]
