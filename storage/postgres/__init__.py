"""PostgreSQL, the shared store for several Paperboy processes: its connection pool, migrations
and SQL, beside the SQLite modules (storage/sqlite/) that hold the same data the same way.

Importing the package registers its implementations of the repository functions (storage/dispatch.py).
"""

from storage.postgres import (  # noqa: F401  - registers the implementations
    app_state,
    archive_calendar,
    db,
    digests,
    fetch_state,
    guilds,
    library,
    llm_cache,
    loader,
    lookup,
    notifications,
    papers,
    pending_matches,
    posts,
    processes,
    recommend,
    search,
    sendlog,
    similar,
    subscriptions,
    summary_stats,
    transfer,
    votes,
)

__all__ = [
    "app_state",
    "archive_calendar",
    "db",
    "digests",
    "fetch_state",
    "guilds",
    "library",
    "llm_cache",
    "loader",
    "lookup",
    "notifications",
    "papers",
    "pending_matches",
    "posts",
    "processes",
    "search",
    "sendlog",
    "subscriptions",
    "summary_stats",
    "transfer",
    "votes",
]
