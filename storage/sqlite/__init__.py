"""The embedded backend: one SQLite file (WAL), FTS5 for text. The default and the quick start.

Importing the package registers its implementations of the repository functions (storage/dispatch.py).
"""

from storage.sqlite import (  # noqa: F401  - registers the implementations
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
