"""Writes parsed digests into the archive: identity, merging, entries, all in one transaction.

Identity (NOTES §1.5): the arXiv id without version when known, else the normalised title. A
paper stored by title alone adopts the arXiv id of a later record with the same title; when
both already exist they are merged into the one with the id.

Bulk-friendly: a batch costs a handful of statements, not one round trip per paper, because every
aiosqlite call is a hop to the connection's thread. Papers are written by ONE statement per batch
(rows passed as a JSON array): an INSERT on `papers` fires the FTS5 trigger, so SQLite wraps each
statement in a savepoint, and FTS5 flushes its pending terms to a new index segment at every
savepoint; one statement per paper meant one segment per paper and merging them dominated a bulk
load. Consecutive streaming batches whose papers all have arXiv ids (a snapshot chunk: one batch
per date) are written together as one "run", so a whole chunk is one statement and one segment.

Preparing a run (title keys, the JSON rows) needs no database: `prepare` does it apart, so that a
bulk load can build its runs in a parsing process while this one writes (bot/ingest_worker.py);
`Loader.load_many` takes the `PreparedRun`s it yields as well as plain digests.

A run indexes its new papers for search with one INSERT ... SELECT before its COMMIT rather than
by the per-row trigger (migration 0012). Inside `Loader.bulk()` (a large file into a smaller
archive) runs also leave the title_key index alone and it is rebuilt once at the end: its keys are
random, so each 5000-paper chunk rewrote about one index page per paper, a quarter of a 1M-paper
load's time; building it afterwards takes 2-3 s. Nothing relies on it for correctness, and every
path that looks papers up by title (`_load_one`) makes sure it exists first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Database, iso, now_utc
from storage.normalize import identity_key
from storage.records import LoadResult, PaperRecord, ParsedDigest

# Called inside the load's transaction with every batch's result, e.g. to queue notifications
# atomically with the digest. Registered by the assistant; storage knows nothing of it.
AfterLoad = Callable[[aiosqlite.Connection, LoadResult], Awaitable[None]]

# The rows come as one JSON array of `_row_json` arrays; `->` keeps nested lists and objects as
# (compact) JSON text, exactly what `_params` writes for the id-less path.
_UPSERT_BY_ID = """
INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, links, categories, keywords,
                    ai_summary, published, first_listed, created_at, updated_at)
SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value -> 4, r.value -> 5, r.value -> 6,
       r.value -> 7, r.value ->> 8, r.value ->> 9, r.value ->> 10, :now, :now
FROM json_each(:rows) AS r WHERE true
ON CONFLICT (arxiv_id) DO UPDATE SET
    title = excluded.title,
    title_key = excluded.title_key,
    abstract = CASE WHEN excluded.abstract <> '' THEN excluded.abstract ELSE papers.abstract END,
    authors = CASE WHEN excluded.authors <> '[]' THEN excluded.authors ELSE papers.authors END,
    links = json_patch(papers.links, excluded.links),
    categories = CASE WHEN excluded.categories <> '[]' THEN excluded.categories ELSE papers.categories END,
    keywords = CASE WHEN excluded.keywords <> '[]' THEN excluded.keywords ELSE papers.keywords END,
    ai_summary = COALESCE(excluded.ai_summary, papers.ai_summary),
    published = COALESCE(papers.published, excluded.published),
    first_listed = MIN(papers.first_listed, excluded.first_listed),
    updated_at = excluded.updated_at
WHERE papers.title IS NOT excluded.title
   OR (excluded.abstract <> '' AND papers.abstract IS NOT excluded.abstract)
   OR (excluded.authors <> '[]' AND papers.authors IS NOT excluded.authors)
   OR papers.links IS NOT json_patch(papers.links, excluded.links)
   OR (excluded.categories <> '[]' AND papers.categories IS NOT excluded.categories)
   OR (excluded.keywords <> '[]' AND papers.keywords IS NOT excluded.keywords)
   OR (excluded.ai_summary IS NOT NULL AND papers.ai_summary IS NOT excluded.ai_summary)
   OR (papers.published IS NULL AND excluded.published IS NOT NULL)
   OR excluded.first_listed < papers.first_listed
RETURNING id, arxiv_id
"""

# An id-less record lands on the paper with its title: the one with an id if there is one.
_UPDATE_BY_ROWID = """
UPDATE papers SET
    title = :title,
    abstract = CASE WHEN :abstract <> '' THEN :abstract ELSE abstract END,
    authors = CASE WHEN :authors <> '[]' THEN :authors ELSE authors END,
    links = json_patch(links, :links),
    first_listed = MIN(first_listed, :listed),
    updated_at = :now
WHERE id = :rowid
  AND (title IS NOT :title
       OR (:abstract <> '' AND abstract IS NOT :abstract)
       OR (:authors <> '[]' AND authors IS NOT :authors)
       OR links IS NOT json_patch(links, :links)
       OR :listed < first_listed)
"""

# The same definition as migration 0001's; `Loader.bulk` drops it and this puts it back.
_TITLE_INDEX = "CREATE INDEX IF NOT EXISTS papers_title_key ON papers(title_key)"

_ADOPT_ID = """
UPDATE papers SET arxiv_id = :arxiv_id, updated_at = :now
WHERE arxiv_id IS NULL AND title_key = :title_key
  AND NOT EXISTS (SELECT 1 FROM papers AS p WHERE p.arxiv_id = :arxiv_id)
"""


@dataclass(slots=True)
class Listing:
    """One batch's digest and, per paper in order, what its entry needs (the id None when unknown)."""

    source: str
    date: dt.date
    format: str
    complete: bool
    ids: list[str | None]
    positions: list[int]
    upvotes: list[int | None]
    comments: list[int | None]


@dataclass(slots=True)
class PreparedRun:
    """Consecutive partial batches whose papers all have arXiv ids, none twice, ready to write.

    `payload` is the JSON array of `_UPSERT_BY_ID` rows of every batch in order, `keys` the JSON
    list of their title keys. Plain data (picklable): built by `prepare`, possibly in another process.
    """

    listings: list[Listing]
    keys: str
    payload: str

    def digests(self) -> list[ParsedDigest]:
        """The batches back as digests (for the rare run that must be loaded one batch at a time)."""
        rows = iter(json.loads(self.payload))
        found = []
        for listing in self.listings:
            papers = []
            for position, upvotes, comments in zip(listing.positions, listing.upvotes, listing.comments,
                                                    strict=True):
                arxiv_id, _, title, abstract, authors, links, categories, keywords, summary, published, _ = next(rows)
                papers.append(PaperRecord(
                    title=title, abstract=abstract, arxiv_id=arxiv_id, authors=authors, links=links,
                    categories=categories, keywords=keywords, ai_summary=summary,
                    published=dt.date.fromisoformat(published) if published else None,
                    upvotes=upvotes, comments=comments, position=position))
            found.append(ParsedDigest(listing.source, listing.date, listing.format, papers, listing.complete))
        return found


@dataclass(slots=True)
class _Batch:
    """One digest on its way in: its listing, its digest row, and what writing its papers did."""

    listing: Listing
    digest_id: int
    paper_ids: list[int | None]
    merged: int = 0
    written: int = 0  # paper rows inserted or changed


def content_hash(digest: ParsedDigest) -> str:
    """A fingerprint of what a digest says, to recognise an identical re-load."""
    h = hashlib.sha256()
    for p in digest.papers:
        h.update(json.dumps(
            [p.arxiv_id, p.title, p.abstract, p.authors, sorted(p.links.items()), p.categories,
             p.keywords, p.ai_summary, p.published and p.published.isoformat(), p.upvotes, p.comments],
            ensure_ascii=False,
        ).encode())
    return h.hexdigest()


def _json(value: object) -> str:
    # Compact, as SQLite's JSON functions write it: json_patch() of equal links must compare equal
    # to what was stored, or every re-load would count (and rewrite) every paper as updated.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _params(record: PaperRecord, key: str, listed: str, now: str) -> dict[str, Any]:
    return {
        "arxiv_id": record.arxiv_id,
        "title_key": key,
        "title": record.title,
        "abstract": record.abstract,
        "authors": _json(record.authors),
        "links": _json(record.links),
        "categories": _json(record.categories),
        "keywords": _json(record.keywords),
        "ai_summary": record.ai_summary,
        "published": record.published.isoformat() if record.published else None,
        "listed": listed,
        "now": now,
    }


def _listing(digest: ParsedDigest) -> Listing:
    papers = digest.papers
    return Listing(digest.source, digest.date, digest.format, digest.complete, [r.arxiv_id for r in papers],
                   [r.position if r.position is not None else i for i, r in enumerate(papers)],
                   [r.upvotes for r in papers], [r.comments for r in papers])


def _payload_row(r: PaperRecord, key: str, day: str) -> list[Any]:
    """A paper as a row of `_UPSERT_BY_ID`'s JSON array."""
    return [r.arxiv_id, key, r.title, r.abstract, r.authors, r.links, r.categories, r.keywords, r.ai_summary,
            r.published.isoformat() if r.published else None, day]


def _prepare_run(run: list[ParsedDigest]) -> PreparedRun:
    rows: list[list[Any]] = []
    keys: list[str] = []
    for digest in run:
        day = digest.date.isoformat()
        for r in digest.papers:
            key = identity_key(r.title, r.authors, r.abstract)
            keys.append(key)
            rows.append(_payload_row(r, key, day))
    return PreparedRun([_listing(d) for d in run], _json(keys), _json(rows))


def _joins_a_run(digest: ParsedDigest) -> bool:
    """Whether a batch can be written together with its neighbours (see `_load_run`)."""
    return not digest.complete and all(r.arxiv_id for r in digest.papers)


def prepare(items: Iterable[ParsedDigest | PreparedRun]) -> Iterator[ParsedDigest | PreparedRun]:
    """Group consecutive batches that can be written together into `PreparedRun`s; pass the rest on.

    Pure computation (no database), so it can run in another process: `load_many` of what it
    yields writes exactly what `load_many` of its input would.
    """
    run: list[ParsedDigest] = []
    run_ids: set[str] = set()
    for item in items:
        if isinstance(item, ParsedDigest) and _joins_a_run(item):
            ids = {r.arxiv_id for r in item.papers if r.arxiv_id}
            if not ids & run_ids:  # a paper twice in a run: start a new one (exact counts)
                run.append(item)
                run_ids |= ids
                continue
            yield _prepare_run(run)
            run, run_ids = [item], ids
            continue
        if run:
            yield _prepare_run(run)
            run, run_ids = [], set()
        yield item
    if run:
        yield _prepare_run(run)


class Loader:
    """Loads parsed digests. `after_load` hooks run inside each batch's transaction."""

    def __init__(self, db: Database, *, after_load: Sequence[AfterLoad] = ()) -> None:
        self.db = db
        self.after_load = list(after_load)
        self._bulk = False  # inside `bulk()` with a load big enough to rebuild the title index after
        self._title_index_dropped = False

    @asynccontextmanager
    async def bulk(self, expected_papers: int) -> AsyncIterator[None]:
        """Load a large streaming input: if `expected_papers` is at least a quarter of the archive,
        runs stop maintaining the title_key index, which is rebuilt when this ends (however it ends;
        a killed process leaves it to the next `_load_one` or bulk load to rebuild).

        Below that share, updating the index as papers arrive costs less than rebuilding it.
        """
        row = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) FROM papers")
        self._bulk = row is not None and expected_papers * 4 >= int(row[0])
        try:
            yield
        finally:
            self._bulk = False
            if self._title_index_dropped:
                self._title_index_dropped = False
                async with self.db.transaction() as conn:
                    await conn.execute(_TITLE_INDEX)

    async def load(self, digest: ParsedDigest, *, now: dt.datetime | None = None) -> LoadResult:
        """Load one digest in one transaction."""
        return (await self.load_many([digest], now=now))[0]

    async def load_many(self, digests: Iterable[ParsedDigest | PreparedRun], *,
                        now: dt.datetime | None = None) -> list[LoadResult]:
        """Load several batches (digests, or runs made by `prepare`) in one transaction (a chunk of a
        streaming format).

        Hooks see each batch's result in order; those of a run are called once the run is written.
        """
        stamp = iso(now or now_utc())
        async with self.db.transaction() as conn:
            results: list[LoadResult] = []
            for item in prepare(digests):
                if isinstance(item, PreparedRun):
                    if self._bulk and not self._title_index_dropped:
                        await conn.execute("DROP INDEX IF EXISTS papers_title_key")
                        self._title_index_dropped = True
                    found = await _load_run(conn, item, stamp)
                else:
                    found = [await _load_one(conn, item, stamp)]
                for result in found:
                    for hook in self.after_load:
                        await hook(conn, result)
                results.extend(found)
            return results


async def _scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def _open_digest(conn: aiosqlite.Connection, digest: ParsedDigest, fingerprint: str | None,
                       now: str) -> int:
    async with conn.execute(
        "INSERT INTO digests (source, date, format, content_hash, fetched_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source, date) DO UPDATE SET format = excluded.format,"
        " content_hash = COALESCE(excluded.content_hash, digests.content_hash), updated_at = excluded.updated_at"
        " RETURNING id",
        (digest.source, digest.date.isoformat(), digest.format, fingerprint, now, now),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def _open_digests(conn: aiosqlite.Connection, listings: list[Listing], now: str) -> list[int]:
    """`_open_digest` for several partial batches (no content hash) in one statement, not one per date."""
    rows = [[d.source, d.date.isoformat(), d.format] for d in listings]
    found = await conn.execute_fetchall(
        "INSERT INTO digests (source, date, format, content_hash, fetched_at, updated_at)"
        " SELECT d.value ->> 0, d.value ->> 1, d.value ->> 2, NULL, :now, :now FROM json_each(:rows) AS d WHERE true"
        " ON CONFLICT (source, date) DO UPDATE SET format = excluded.format, updated_at = excluded.updated_at"
        " RETURNING id, source, date",
        {"rows": json.dumps(rows), "now": now},
    )
    id_of = {(source, day): int(digest_id) for digest_id, source, day in found}
    return [id_of[(source, day)] for source, day, _ in rows]


async def _max_paper_id(conn: aiosqlite.Connection) -> int:
    return int(await _scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM papers"))


async def _upsert_with_ids(conn: aiosqlite.Connection, batches: list[_Batch], payload: str, now: str) -> None:
    """Insert or update the papers of `payload` (the batches' papers that have an arXiv id, in
    order) in one statement; fill the batches' paper_ids for them."""
    changed = await conn.execute_fetchall(_UPSERT_BY_ID, {"rows": payload, "now": now})
    # Every inserted or changed row is returned. A run never names a paper twice, and a single
    # batch owns all its rows, so each returned row counts for exactly one batch.
    owner = {arxiv_id: batch for batch in batches for arxiv_id in batch.listing.ids if arxiv_id}
    pid_of: dict[str, int] = {}
    for pid, arxiv_id in changed:
        pid_of[arxiv_id] = pid
        owner[arxiv_id].written += 1
    missing = [arxiv_id for arxiv_id in owner if arxiv_id not in pid_of]
    if missing:
        found = await conn.execute_fetchall(
            "SELECT p.arxiv_id, p.id FROM json_each(?) AS k JOIN papers AS p ON p.arxiv_id = k.value",
            (json.dumps(missing),))
        pid_of.update((str(arxiv_id), int(pid)) for arxiv_id, pid in found)
    for batch in batches:
        batch.paper_ids = [pid_of.get(arxiv_id) if arxiv_id else pid
                           for arxiv_id, pid in zip(batch.listing.ids, batch.paper_ids, strict=True)]


async def _write_entries(conn: aiosqlite.Connection, batches: list[_Batch], max_before: int) -> list[LoadResult]:
    """List each batch's papers in its digest (a complete digest replaces its list; a partial batch
    adds to it), update the digests' counts, and say what each batch did."""
    entries = []
    results = []
    claimed: set[int] = set()  # papers already counted new by an earlier batch
    for batch in batches:
        seen: set[int] = set()
        count = 0
        d = batch.listing
        for pid, position, upvotes, comments in zip(batch.paper_ids, d.positions, d.upvotes, d.comments,
                                                    strict=True):
            if pid is None or pid in seen:
                continue  # the same paper twice in one list: keep its first position
            seen.add(pid)
            count += 1
            entries.append((batch.digest_id, pid, position, upvotes, comments))
        new = sum(1 for pid in seen if pid > max_before and pid not in claimed)
        claimed |= seen
        results.append(LoadResult(d.source, d.date, d.format, count, new, batch.merged,
                                  max(batch.written - new, 0), False, batch.digest_id, tuple(sorted(seen))))
    complete = [(b.digest_id,) for b in batches if b.listing.complete]
    if complete:
        await conn.executemany("DELETE FROM digest_entries WHERE digest_id = ?", complete)
    await conn.executemany(
        "INSERT INTO digest_entries (digest_id, paper_id, position, upvotes, comments) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (digest_id, paper_id) DO UPDATE SET position = excluded.position,"
        " upvotes = COALESCE(excluded.upvotes, digest_entries.upvotes),"
        " comments = COALESCE(excluded.comments, digest_entries.comments)",
        entries,
    )
    await conn.execute(
        "UPDATE digests SET paper_count = (SELECT COUNT(*) FROM digest_entries AS e WHERE e.digest_id = digests.id)"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({b.digest_id for b in batches})),),
    )
    return results


async def _load_one(conn: aiosqlite.Connection, digest: ParsedDigest, now: str) -> LoadResult:
    day = digest.date.isoformat()
    fingerprint = content_hash(digest) if digest.complete else None
    async with conn.execute(
        "SELECT id, content_hash, paper_count FROM digests WHERE source = ? AND date = ?", (digest.source, day)
    ) as cursor:
        existing = await cursor.fetchone()
    if existing and digest.complete and existing["content_hash"] == fingerprint:
        return LoadResult(digest.source, digest.date, digest.format, existing["paper_count"], 0, 0, 0, True,
                          existing["id"], ())

    await conn.execute(_TITLE_INDEX)  # looking papers up by title needs it (see `Loader.bulk`)
    keys = [identity_key(r.title, r.authors, r.abstract) for r in digest.papers]
    batch = _Batch(_listing(digest), await _open_digest(conn, digest, fingerprint, now), [None] * len(keys))
    max_before = await _max_paper_id(conn)
    with_id = [(r, key) for r, key in zip(digest.papers, keys, strict=True) if r.arxiv_id]
    if with_id:
        adopt = [{"arxiv_id": r.arxiv_id, "title_key": key, "now": now} for r, key in with_id]
        cursor = await conn.executemany(_ADOPT_ID, adopt)
        batch.merged = max(cursor.rowcount, 0)
        batch.merged += await _merge_title_twins(conn, [key for _, key in with_id])
        await _upsert_with_ids(conn, [batch], _json([_payload_row(r, key, day) for r, key in with_id]), now)
    for i, (r, key) in enumerate(zip(digest.papers, keys, strict=True)):
        if not r.arxiv_id:
            pid, changed = await _upsert_by_title(conn, _params(r, key, day, now))
            batch.paper_ids[i] = pid
            batch.written += changed
    return (await _write_entries(conn, [batch], max_before))[0]


async def _load_run(conn: aiosqlite.Connection, run: PreparedRun, now: str) -> list[LoadResult]:
    """Write consecutive partial batches whose papers all have arXiv ids, none twice, together.

    Equivalent to loading them one by one: with no id-less paper sharing a title with the run
    (checked first; otherwise they are loaded one by one), there is nothing to adopt or merge, and
    distinct ids make each batch's counts its own.
    """
    orphans = await conn.execute_fetchall(
        # The partial index of id-less titles: small, and there even while `bulk()` drops the full one.
        "SELECT 1 FROM json_each(?) AS k JOIN papers AS o INDEXED BY papers_title_only"
        " ON o.title_key = k.value AND o.arxiv_id IS NULL LIMIT 1",
        (run.keys,))
    if orphans:
        return [await _load_one(conn, digest, now) for digest in run.digests()]
    ids = await _open_digests(conn, run.listings, now)
    batches = [_Batch(listing, digest_id, [None] * len(listing.ids))
               for listing, digest_id in zip(run.listings, ids, strict=True)]
    max_before = await _max_paper_id(conn)
    # New papers skip the FTS trigger and are indexed together below (migration 0012): the flag
    # row and the index entries are in this transaction, which a failure rolls back as a whole.
    await conn.execute("INSERT INTO papers_fts_deferred (one) VALUES (1)")
    await _upsert_with_ids(conn, batches, run.payload, now)
    # Inserted rows, and only they, have ids above the highest before (rowids are never reused
    # below the maximum); changed rows were re-indexed by the update trigger.
    await conn.execute("INSERT INTO papers_fts (rowid, title, abstract) SELECT id, title, abstract FROM papers"
                       " WHERE id > ?", (max_before,))
    await conn.execute("DELETE FROM papers_fts_deferred")
    return await _write_entries(conn, batches, max_before)


async def _upsert_by_title(conn: aiosqlite.Connection, params: dict[str, Any]) -> tuple[int, bool]:
    """The paper id for an id-less record, and whether its row was inserted or changed."""
    async with conn.execute(
        "SELECT id FROM papers WHERE title_key = ? ORDER BY arxiv_id IS NULL, id LIMIT 1", (params["title_key"],)
    ) as cursor:
        row = await cursor.fetchone()
    if row is not None:
        async with conn.execute(_UPDATE_BY_ROWID, {**params, "rowid": row[0]}) as cursor:
            return int(row[0]), cursor.rowcount > 0
    async with conn.execute(
        "INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, links, categories, keywords,"
        " ai_summary, published, first_listed, created_at, updated_at)"
        " VALUES (NULL, :title_key, :title, :abstract, :authors, :links, :categories, :keywords,"
        " :ai_summary, :published, :listed, :now, :now) RETURNING id",
        params,
    ) as cursor:
        inserted = await cursor.fetchone()
    assert inserted is not None
    return int(inserted[0]), True


async def _merge_title_twins(conn: aiosqlite.Connection, keys: list[str]) -> int:
    """Fold id-less papers into a paper with an id and the same title (their listings move over)."""
    async with conn.execute(
        "SELECT o.id, MIN(p.id) FROM json_each(?) AS k"
        " JOIN papers AS o ON o.title_key = k.value AND o.arxiv_id IS NULL"
        " JOIN papers AS p ON p.title_key = o.title_key AND p.arxiv_id IS NOT NULL"
        " GROUP BY o.id",
        (json.dumps(keys),),
    ) as cursor:
        pairs = list(await cursor.fetchall())
    for orphan, keeper in pairs:
        await conn.execute(
            "INSERT OR IGNORE INTO digest_entries (digest_id, paper_id, position, upvotes, comments)"
            " SELECT digest_id, ?, position, upvotes, comments FROM digest_entries WHERE paper_id = ?",
            (keeper, orphan),
        )
        await conn.execute(
            "UPDATE papers SET first_listed = MIN(first_listed, (SELECT first_listed FROM papers WHERE id = ?))"
            " WHERE id = ?", (orphan, keeper))
        await conn.execute("DELETE FROM papers WHERE id = ?", (orphan,))
    return len(pairs)
