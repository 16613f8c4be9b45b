"""What search reads from the FTS5 index besides its matches, kept until the index changes.

Two look-ups cost a doclist walk each time a search makes them, yet their answers change only
when papers are written: which indexed words a prefix stands for, and how many of the newest
papers hold a term (its idf estimate). Both are kept per database and per state of the index.

Prefixes: FTS5 answers `"quantiz" *` by reading and merging the whole doclist of every word
starting with `quantiz` before it returns a row (and a search asks three times), while the same
words written out as an OR are walked newest-first and stopped after the window. So a prefix
term is replaced by the indexed words it matches, read from papers_vocab (migration 0006), when
that is exactly equivalent: at most MAX_EXPANSION words, each written so that FTS5, which stems
what it is given, reads it back as that word (the porter stemmer is not idempotent on every stem).
Otherwise FTS5's own prefix query stays. An FTS5 prefix index (`prefix=`) would not help here:
it serves only prefixes of exactly its configured lengths.

"A state of the index": FTS5 rewrites its structure record (row 10 of papers_fts_data) whenever
the index changes (every flush of new rows adds a segment to it, every merge rewrites it, even
inside an open transaction), so the record's bytes name one state. Each search reads it (one row
by primary key), a different record drops what was kept, and a value computed while the record
changed underneath is used once but not kept.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from storage.db import Database
from storage.search.query import Term
from storage.sqlite.search.scratch import tokens

MAX_EXPANSION = 100  # more words than this: FTS5's own prefix query
VERSION_SQL = "(SELECT block FROM papers_fts_data WHERE id = 10)"  # FTS5_STRUCTURE_ROWID
MAX_KEPT = 10_000  # values kept per state, so a stream of distinct queries cannot grow memory

T = TypeVar("T")


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
    exact: list[str] = []
    stems: dict[str, str] = {}  # stem -> a word FTS5 stems to it
    for w in matched:
        written = tokens(" ".join((*head, w)))
        if written == (*head, w):
            exact.append(w)
        # A word the stemmer shortens again ("biased" -> bias -> bia) is written as a prefix,
        # `"bias" *`, which FTS5 reads as bia*: that matches this word and only words of this
        # prefix when the second stem begins the word and starts with the prefix.
        elif written[:-1] == head and w.startswith(written[-1]) and written[-1].startswith(prefix):
            stems.setdefault(written[-1], w)
        else:
            return None
    stems = {s: w for s, w in stems.items() if not any(s != o and s.startswith(o) for o in stems)}
    # A word a written prefix matches is left out: highlight() must see each word match once.
    return tuple([" ".join((*head, w)) for w in exact if not any(w.startswith(s) for s in stems)]
                 + [" ".join((*head, w)) + "*" for w in stems.values()])


def _successor(prefix: str) -> str | None:
    """The least string above every string starting with `prefix` (UTF-8 order is code point order)."""
    last = ord(prefix[-1]) + 1
    if last == 0xD800:  # surrogates cannot be encoded: skip them
        last = 0xE000
    return prefix[:-1] + chr(last) if last <= 0x10FFFF else None
