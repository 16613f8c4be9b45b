"""Archive statistics the daily summary needs: stems as the index sees them, per-term document counts.

Themes compare how often a phrase occurs in one digest with how often the archive uses it. The
archive side must speak the index's language (porter stems of unicode61 tokens), so stems come
from SQLite's own tokenizer rather than a Python re-implementation that could drift from it; the
same stems group a digest's phrases on either backend. PostgreSQL's tsvector holds its own
'english' stems, so there a stem is counted through the words it was made from.
The SQL: storage/sqlite/summary_stats.py, storage/postgres/summary_stats.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence

from storage.db import Database, now_utc
from storage.dispatch import per_backend
from storage.errors import StorageError

log = logging.getLogger(__name__)

# Must match papers_fts in 0001_archive.sql: the stems looked up are the stems it indexed.
_TOKENIZE = "porter unicode61 remove_diacritics 2"
# A term is "common" (worth caching) in at least this share of the archive's papers, and this many.
_COMMON_SHARE = 0.002
_COMMON_MIN = 500
_STALE_GROWTH = 1.2
# Stale cached counts recounted per call (each costs a walk of the term's whole posting list).
_RECOUNTS_PER_CALL = 16
_TERMS_PER_STATEMENT = 8
_SAVE_EVERY = 64  # counts saved per write while counting


def stem_words(words: Iterable[str]) -> dict[str, str]:
    """Each word's stem as SQLite's papers_fts indexes it ("models" -> "model", "Diffusion" -> "diffus").

    Words that are not exactly one token to the index (empty, punctuation, "speed-up") are left
    out. Runs on a private in-memory database: no I/O, and nothing shared with the archive's
    connection, so it is safe inside or outside anyone's transaction. A word's stem never
    changes, so the last `_STEMS_KEPT` words' stems are remembered (a digest's words are mostly
    the previous digest's).
    """
    unique = [w for w in dict.fromkeys(words) if w]
    with _stems_lock:  # composes run in worker threads
        new = [w for w in unique if w not in _stems]
        if new:
            if len(_stems) + len(new) > _STEMS_KEPT:
                _stems.clear()
            _stems.update(dict.fromkeys(new))
            _stems.update(_stem_now(new))
        return {w: stem for w in unique if (stem := _stems.get(w)) is not None}


_STEMS_KEPT = 200_000
_stems: dict[str, str | None] = {}  # word -> its stem, None when it is not one token
_stems_lock = threading.Lock()


def _stem_now(unique: list[str]) -> dict[str, str]:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE w USING fts5(word, tokenize='{_TOKENIZE}')")
        conn.execute("CREATE VIRTUAL TABLE wv USING fts5vocab(w, 'instance')")
        conn.executemany("INSERT INTO w(rowid, word) VALUES (?, ?)", enumerate(unique, 1))
        tokens: dict[int, list[str]] = {}
        for term, doc in conn.execute("SELECT term, doc FROM wv"):
            tokens.setdefault(doc, []).append(term)
    finally:
        conn.close()
    return {unique[doc - 1]: terms[0] for doc, terms in tokens.items() if len(terms) == 1}


@per_backend
async def cached_term_counts(db: Database, terms: Collection[str]) -> list[tuple[str, int, int]]:
    """(term, papers containing it, archive size then) of the terms whose counts are cached."""
    raise NotImplementedError


@per_backend
async def live_term_counts(db: Database, terms: Sequence[str],
                           words: Mapping[str, Collection[str]] | None = None) -> dict[str, int]:
    """How many papers contain each stem, counted now from the index; absent terms are omitted.

    `words`: the words each stem was made from (by `stem_words`). SQLite's index holds these very
    stems and needs none. PostgreSQL's holds its own ('english') stems, so there a stem counts
    the papers holding any of its words as PostgreSQL stems them (the stem itself when none are
    given): the same papers but for words of the stem's family the digest did not use."""
    raise NotImplementedError


@per_backend
async def save_term_counts(db: Database, counts: Sequence[tuple[str, int, int]], *,
                           now: dt.datetime | None = None) -> None:
    """Cache (term, papers containing it, archive size) counts, replacing older ones."""
    raise NotImplementedError


@per_backend
async def archive_size(db: Database) -> int:
    """The number of papers in the archive, estimated by the largest id.

    COUNT(*) walks a whole index, which grows with the archive; ids only ever grow
    and papers are removed only by rare title merges, so MAX(id) is exact enough for frequencies.
    """
    raise NotImplementedError


async def term_document_counts(db: Database, terms: Collection[str], *, archive_papers: int | None = None,
                               cache: bool = True, words: Mapping[str, Collection[str]] | None = None
                               ) -> dict[str, int]:
    """How many archive papers contain each stem (title or abstract); absent terms are omitted.

    Rare terms are counted live from the index (each one a seek: cheap). Common terms
    cost time in proportion to how common they are (a few seconds for a digest's worth at a
    million papers), so their counts are kept in summary_term_counts and reused, scaled to the
    archive's current size. Once the archive has grown by `_STALE_GROWTH` since a count, the
    count is stale: it is still used (scaled), and the stalest `_RECOUNTS_PER_CALL` of them are
    counted again, so the cost of a growing archive is spread over many summaries instead of
    landing on one. Live counts are taken a few terms per statement (see below). `words`: see
    `live_term_counts`.
    """
    if not terms:
        return {}
    size = await archive_size(db) if archive_papers is None else archive_papers

    async def live(batch: Sequence[str]) -> dict[str, int]:
        return await live_term_counts(db, batch, words)

    def common(term: str, doc: int) -> bool:
        return doc >= max(_COMMON_MIN, size * _COMMON_SHARE)

    return await _counts(db, sorted(terms), size, cache, live, common)


async def _counts(db: Database, keys: Sequence[str], size: int, cache: bool,
                  live_counts: Callable[[Sequence[str]], Awaitable[dict[str, int]]],
                  worth_caching: Callable[[str, int], bool],
                  costly: Callable[[str], bool] = lambda key: False) -> dict[str, int]:
    """Counts of `keys` from summary_term_counts (scaled to `size`, the stalest few recounted) and,
    for the rest, from `live_counts`, a few keys per statement (the `costly` ones one each); the
    live counts `worth_caching` are saved."""
    counts: dict[str, int] = {}
    stale: list[tuple[float, str]] = []
    if cache:
        for term, doc, then in await cached_term_counts(db, keys):
            then = max(then, 1)
            counts[term] = round(doc * size / then)
            if not then <= size <= then * _STALE_GROWTH:
                stale.append((abs(math.log(size / then)) if size > 0 else math.inf, term))
    recount = [term for _, term in sorted(stale, reverse=True)[:_RECOUNTS_PER_CALL]]
    missing = sorted((set(keys) - counts.keys()) | set(recount))
    live: dict[str, int] = {}
    unsaved: list[tuple[str, int, int]] = []
    saving = cache
    # A few terms per statement, a costly one alone: a long count in one statement would hold up
    # every interactive read queued behind it (on SQLite, the one connection runs one statement at
    # a time).
    cheap = [k for k in missing if not costly(k)]
    batches = [[k] for k in missing if costly(k)]
    batches += [cheap[i:i + _TERMS_PER_STATEMENT] for i in range(0, len(cheap), _TERMS_PER_STATEMENT)]
    for n, batch in enumerate(batches):
        found = await live_counts(batch)
        live.update(found)
        unsaved.extend((t, d, size) for t, d in found.items() if worth_caching(t, d) or t in recount)
        # Saved as they come: a count cut short (the bot stopping mid-way) keeps what it counted.
        if saving and unsaved and (len(unsaved) >= _SAVE_EVERY or n == len(batches) - 1):
            saving = await _save(db, unsaved)
            unsaved = []
    for term in recount:
        counts.pop(term, None)  # recounted: the live count, or gone from the index
    counts.update(live)
    return counts


async def _save(db: Database, counts: list[tuple[str, int, int]]) -> bool:
    """Cache `counts`; False when the database refused (then the caller stops trying)."""
    try:
        await save_term_counts(db, counts, now=now_utc())
    except (StorageError, sqlite3.Error, OSError):
        # Only a cache: a locked or read-only database must not stop a summary.
        log.info("could not save %d term counts; they will be counted again", len(counts), exc_info=True)
        return False
    return True


@per_backend
async def live_phrase_counts(db: Database, phrases: Sequence[Sequence[Collection[str]]]) -> list[int]:
    """How many papers hold each phrase, counted now from the index, in the order given.

    A phrase is its positions, each the words its stem was made from (by `stem_words`): the
    papers counted hold, at consecutive positions of the title or the abstract, a word of each
    position's stem (SQLite: the phrase query of FTS5 on porter stems; PostgreSQL: `<->` of the
    positions' words as 'english' stems them)."""
    raise NotImplementedError


@per_backend
async def evict_phrase_counts(db: Database, *, counted_before: dt.datetime, keep: Collection[str] = ()) -> int:
    """Forget the cached counts of phrases (keys holding a space; single terms are kept) counted
    before `counted_before`, except those in `keep`; returns how many were forgotten.

    Phrases come and go with the days' digests, so without this the cache would grow with every
    digest ever summarised; a forgotten phrase that comes back is counted again."""
    raise NotImplementedError


def phrase_key(stems: Sequence[str]) -> str:
    """A phrase's key in summary_term_counts: its stems joined by spaces (a term never holds one)."""
    return " ".join(stems)


async def phrase_document_counts(db: Database, phrases: Collection[tuple[str, ...]], *,
                                 words: Mapping[str, Collection[str]], term_counts: Mapping[str, int],
                                 archive_papers: int | None = None, cache: bool = True
                                 ) -> dict[tuple[str, ...], int]:
    """How many archive papers hold each phrase of stems, exactly (0 for none).

    One word is its term count (`term_counts`, from `term_document_counts`). A longer phrase is
    counted by a phrase query, whose cost grows with its words' counts, not with its own: a
    phrase whose rarest word is in no paper is in none (no query), one whose rarest word is rare is
    counted live each time (cheap), and the others are kept in summary_term_counts under
    `phrase_key` like common terms, scaled to the archive's size and recounted a few at a time
    once stale. `words`: each stem's words, as for `live_term_counts`."""
    size = await archive_size(db) if archive_papers is None else archive_papers
    result: dict[tuple[str, ...], int] = {}
    by_key: dict[str, tuple[str, ...]] = {}
    for stems in phrases:
        bound = min(term_counts.get(s, 0) for s in stems)
        if len(stems) == 1 or bound == 0:
            result[stems] = bound
        else:
            by_key[phrase_key(stems)] = stems
    if not by_key:
        return result
    threshold = max(_COMMON_MIN, size * _COMMON_SHARE)

    async def live(batch: Sequence[str]) -> dict[str, int]:
        found = await live_phrase_counts(db, [[words.get(s) or [s] for s in by_key[k]] for k in batch])
        return dict(zip(batch, found, strict=True))

    def expensive(key: str, doc: int) -> bool:
        return min(term_counts.get(s, 0) for s in by_key[key]) >= threshold

    counted = await _counts(db, sorted(by_key), size, cache, live, expensive, lambda key: expensive(key, 0))
    result.update({by_key[k]: counted.get(k, 0) for k in by_key})
    return result
