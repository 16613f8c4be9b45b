"""What search reads from the FTS5 index besides its matches, kept until the index changes.

Two look-ups cost a doclist walk each time a search makes them, yet their answers change only
when papers are written: which indexed words a prefix stands for, and how many of the newest
papers hold a term (its idf estimate). Both are kept per database and per state of the index.

Prefixes: FTS5 answers `"quantiz" *` by reading and merging the whole doclist of every word
starting with `quantiz` before it returns a row (~7 ms at a million papers, and a search asks
three times), while the same words written out as an OR are walked newest-first and stopped after
the window (~0.3 ms). So a prefix term is replaced by the indexed words it matches, read from
papers_vocab (migration 0006), when that is exactly equivalent: at most MAX_EXPANSION words, and
each written phrase tokenizes back to itself (the porter stemmer is not idempotent on every
stem, and FTS5 stems what it is given). Otherwise FTS5's own prefix query stays. An FTS5 prefix
index (`prefix=`) would not help here: it serves only prefixes of exactly its configured lengths.

"A state of the index": FTS5 rewrites its structure record (row 10 of papers_fts_data) whenever
the index changes (every flush of new rows adds a segment to it, every merge rewrites it, even
inside an open transaction), so the record's bytes name one state. Each search reads it (one row
by primary key), a different record drops what was kept, and a value computed while the record
changed underneath is used once but not kept.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar, cast

from storage.db import Database
from storage.search.query import Term

# The tokenizer of papers_fts (storage/migrations/0001_archive.sql); a test checks they agree.
TOKENIZE = "porter unicode61 remove_diacritics 2"
MAX_EXPANSION = 32  # more words than this: FTS5's own prefix query (OR-ing them gains little)
VERSION_SQL = "(SELECT block FROM papers_fts_data WHERE id = 10)"  # FTS5_STRUCTURE_ROWID

T = TypeVar("T")


MAX_KEPT = 10_000  # values kept per state, so a stream of distinct queries cannot grow memory


@dataclass(slots=True)
class IndexState:
    """Look-ups made against one state of the index (one structure record)."""

    version: bytes | None
    values: dict[Hashable, Any] = field(default_factory=dict)


_states: weakref.WeakKeyDictionary[Database, IndexState] = weakref.WeakKeyDictionary()


def state_for(db: Database, version: bytes | None) -> IndexState:
    """What is kept for `db` at this index version (`VERSION_SQL`, read by the caller)."""
    state = _states.get(db)
    if state is None or state.version != version:
        state = _states[db] = IndexState(version)
    return state


def forget(db: Database) -> None:
    """Drop what is kept for `db` (benchmarks measuring a first search)."""
    _states.pop(db, None)


async def remember(db: Database, state: IndexState, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
    """The value kept under `key`, or `compute()`'s, kept when the index did not change meanwhile."""
    if key in state.values:
        return cast(T, state.values[key])
    value = await compute()
    row = await db.fetchone(f"SELECT {VERSION_SQL} AS v")
    if state is _states.get(db) and row is not None and row["v"] == state.version:
        if len(state.values) >= MAX_KEPT:
            state.values.clear()
        state.values[key] = value
    return value


async def expansion(db: Database, state: IndexState, term: Term) -> tuple[str, ...] | None:
    """The phrases a prefix term stands for, to write instead of it; None to keep the prefix."""
    if not term.prefix:
        return None
    return await remember(db, state, ("prefix", term), lambda: _expand(db, term))


async def _expand(db: Database, term: Term) -> tuple[str, ...] | None:
    words = tokens(term.text)
    if not words:
        return None
    head, prefix = words[:-1], words[-1]
    upper = _successor(prefix)
    if upper is None:
        return None
    # papers_vocab computes each row's counts by walking that word's doclist: the LIMIT bounds it.
    rows = await db.fetchall("SELECT term FROM papers_vocab WHERE term >= ? AND term < ? LIMIT ?",
                             (prefix, upper, MAX_EXPANSION + 1))
    matched = [str(r[0]) for r in rows if str(r[0]).startswith(prefix)]
    if not matched or len(matched) > MAX_EXPANSION:
        return None
    phrases = tuple(" ".join((*head, w)) for w in matched)
    if any(tokens(p) != (*head, w) for p, w in zip(phrases, matched, strict=True)):
        return None
    return phrases


def _successor(prefix: str) -> str | None:
    """The least string above every string starting with `prefix` (UTF-8 order is code point order)."""
    last = ord(prefix[-1]) + 1
    if last == 0xD800:  # surrogates cannot be encoded: skip them
        last = 0xE000
    return prefix[:-1] + chr(last) if last <= 0x10FFFF else None


_tokenizer_lock = threading.Lock()
_tokenizer: sqlite3.Connection | None = None


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """The index terms papers_fts makes of `text`, in order (FTS5's own tokenizer, not a copy)."""
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            conn.execute(f"CREATE VIRTUAL TABLE tok USING fts5(x, tokenize='{TOKENIZE}')")
            conn.execute("CREATE VIRTUAL TABLE tok_terms USING fts5vocab(tok, 'instance')")
            _tokenizer = conn
        _tokenizer.execute("BEGIN")
        try:
            _tokenizer.execute("INSERT INTO tok(rowid, x) VALUES (1, ?)", (text,))
            rows = _tokenizer.execute("SELECT term FROM tok_terms ORDER BY offset").fetchall()
        finally:
            _tokenizer.execute("ROLLBACK")  # the table stays empty
    return tuple(str(r[0]) for r in rows)
