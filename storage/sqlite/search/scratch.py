"""A private in-memory FTS5 index with papers_fts's tokenizer, for work on a handful of texts.

Tokenizing (what index terms FTS5 makes of some text) and marking a page of hits (highlight()
and snippet()) only depend on each text itself and the query, never on the rest of the archive,
so they run here on just those texts. For the page that matters with a prefix term: on
papers_fts, FTS5 reads and merges the whole doclist of every word the prefix matches before it
returns the first row, a cost that grows with the archive; here it reads ten papers' words.

One connection for the process (the event loop thread and any other), guarded by a lock; each
use writes inside a transaction it rolls back, so the tables are always empty between uses.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache

# The tokenizer of papers_fts (storage/sqlite/migrations/0001_archive.sql); a test checks they agree.
TOKENIZE = "porter unicode61 remove_diacritics 2"

_lock = threading.Lock()
_conn: sqlite3.Connection | None = None


def _connection() -> sqlite3.Connection:
    global _conn
    if _conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        conn.execute(f"CREATE VIRTUAL TABLE tok USING fts5(x, tokenize='{TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE tok_terms USING fts5vocab(tok, 'instance')")
        # The same columns as papers_fts, so a MATCH expression written for it means the same here.
        conn.execute(f"CREATE VIRTUAL TABLE page USING fts5(title, abstract, tokenize='{TOKENIZE}')")
        _conn = conn
    return _conn


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """The index terms papers_fts makes of `text`, in order (FTS5's own tokenizer, not a copy)."""
    with _lock:
        conn = _connection()
        conn.execute("BEGIN")
        try:
            conn.execute("INSERT INTO tok(rowid, x) VALUES (1, ?)", (text,))
            rows = conn.execute("SELECT term FROM tok_terms ORDER BY offset").fetchall()
        finally:
            conn.execute("ROLLBACK")
    return tuple(str(r[0]) for r in rows)


def mark(match: str, papers: Sequence[tuple[int, str, str]], open_: str, close: str, ellipsis: str,
         snippet_tokens: int) -> dict[int, tuple[str, str]]:
    """For each (id, title, abstract) matching the FTS5 expression `match`: its title as
    highlight() marks it and a snippet() of its abstract, exactly as papers_fts would give them.
    Raises sqlite3.OperationalError when FTS5 rejects `match`."""
    with _lock:
        conn = _connection()
        conn.execute("BEGIN")
        try:
            conn.executemany("INSERT INTO page(rowid, title, abstract) VALUES (?, ?, ?)", papers)
            rows = conn.execute(
                "SELECT rowid, highlight(page, 0, ?, ?), snippet(page, 1, ?, ?, ?, ?) FROM page WHERE page MATCH ?",
                (open_, close, open_, close, ellipsis, snippet_tokens, match)).fetchall()
        finally:
            conn.execute("ROLLBACK")
    return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}
