"""Writes parsed digests into the archive: identity, merging, entries, all in one transaction.

Identity (docs/formats.md#identity): the arXiv id without version when known, else the normalised title. A
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
bulk load can build its runs in a parsing process while this one writes (bot/ingest/worker.py);
`Loader.load_many` takes the `PreparedRun`s it yields as well as plain digests.

A run indexes its new papers for search with one INSERT ... SELECT before its COMMIT rather than
by the per-row trigger (migration 0012). Inside `Loader.bulk()` (a large file into a smaller
archive) runs also leave the title_key index alone and it is rebuilt once at the end: its keys are
random, so each chunk rewrote about one index page per paper, while building it once afterwards
is a single sorted pass. Nothing relies on it for correctness, and every path that looks papers
up by title (`_load_one`) makes sure it exists first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from storage.db import Database, iso, now_utc
from storage.normalize import identity_key
from storage.records import LoadResult, PaperRecord, ParsedDigest

log = logging.getLogger(__name__)

# Called inside the load's transaction with every batch's result, e.g. to queue notifications
# atomically with the digest. Registered by the assistant; storage knows nothing of it.
AfterLoad = Callable[[aiosqlite.Connection, LoadResult], Awaitable[None]]
# Called once a load's transaction has committed, with every batch's result: to wake what reads the
# new rows (the title index, the daily post, sending notifications). A listener that fails is
# logged, not raised: the load is stored whatever a listener does.
AfterCommit = Callable[[Sequence[LoadResult]], Awaitable[None]]

# Which source a field comes from when a paper is listed by several (docs/formats.md, "Sources and
# merging"): arXiv's formats own the title, authors and abstract; Hugging Face's own the keywords,
# the AI summary and the code and project links (the upvotes are per listing, on the entry).
# Statement parameters: :text_wins (the record comes from arXiv, or is a Paperboy export) and
# :extras_win (it comes from Hugging Face, or is an export). A paper has been described by arXiv
# when it has categories (only arXiv lists them): then a Hugging Face record leaves its text alone.
_DEFERS = "(NOT :text_wins AND {t}categories <> '[]')"
_LINKS = "CASE WHEN :extras_win THEN json_patch({t}links, {new}links) ELSE json_patch({new}links, {t}links) END"


def _text_rules(t: str, new: str) -> dict[str, str]:
    """The new value of each text column: `t` qualifies the stored row's columns, `new` the record's."""
    defers = _DEFERS.format(t=t)
    rules = {"title": f"CASE WHEN {defers} THEN {t}title ELSE {new}title END"}
    for col, empty in (("abstract", "''"), ("authors", "'[]'")):
        rules[col] = f"CASE WHEN {new}{col} <> {empty} AND NOT {defers} THEN {new}{col} ELSE {t}{col} END"
    rules["links"] = _LINKS.format(t=t, new=new)
    return rules


def _changes(rules: dict[str, str], t: str) -> str:
    return "\n   OR ".join(f"{t}{col} IS NOT ({rule})" for col, rule in rules.items())


_BY_ID = _text_rules("papers.", "excluded.")
# The rows come as one JSON array of `_row_json` arrays; `->` keeps nested lists and objects as
# (compact) JSON text, exactly what `_params` writes for the id-less path.
_UPSERT_BY_ID = f"""
INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, links, categories, keywords,
                    ai_summary, published, first_listed, created_at, updated_at)
SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value -> 4, r.value -> 5, r.value -> 6,
       r.value -> 7, r.value ->> 8, r.value ->> 9, r.value ->> 10, :now, :now
FROM json_each(:rows) AS r WHERE true
ON CONFLICT (arxiv_id) DO UPDATE SET
    title = {_BY_ID["title"]},
    title_key = CASE WHEN {_DEFERS.format(t="papers.")} THEN papers.title_key ELSE excluded.title_key END,
    abstract = {_BY_ID["abstract"]},
    authors = {_BY_ID["authors"]},
    links = {_BY_ID["links"]},
    categories = CASE WHEN excluded.categories <> '[]' THEN excluded.categories ELSE papers.categories END,
    keywords = CASE WHEN excluded.keywords <> '[]' THEN excluded.keywords ELSE papers.keywords END,
    ai_summary = COALESCE(excluded.ai_summary, papers.ai_summary),
    published = COALESCE(papers.published, excluded.published),
    first_listed = MIN(papers.first_listed, excluded.first_listed),
    updated_at = excluded.updated_at
WHERE {_changes(_BY_ID, "papers.")}
   OR (excluded.categories <> '[]' AND papers.categories IS NOT excluded.categories)
   OR (excluded.keywords <> '[]' AND papers.keywords IS NOT excluded.keywords)
   OR (excluded.ai_summary IS NOT NULL AND papers.ai_summary IS NOT excluded.ai_summary)
   OR (papers.published IS NULL AND excluded.published IS NOT NULL)
   OR excluded.first_listed < papers.first_listed
RETURNING id, arxiv_id
"""  # noqa: S608 - built from the constants above; every value is a bound parameter

_BY_ROWID = _text_rules("", ":")
# An id-less record lands on the paper with its title: the one with an id if there is one.
_UPDATE_BY_ROWID = f"""
UPDATE papers SET
    title = {_BY_ROWID["title"]},
    abstract = {_BY_ROWID["abstract"]},
    authors = {_BY_ROWID["authors"]},
    links = {_BY_ROWID["links"]},
    first_listed = MIN(first_listed, :listed),
    updated_at = :now
WHERE id = :rowid
  AND ({_changes(_BY_ROWID, "")}
       OR :listed < first_listed)
"""  # noqa: S608 - built from the constants above; every value is a bound parameter


def _authority(fmt: str) -> dict[str, bool]:
    """The statement parameters that say which fields a record of format `fmt` may set (see `_DEFERS`)."""
    arxiv, hf = fmt.startswith("arxiv-"), fmt.startswith("hf-")
    return {"text_wins": not hf, "extras_win": not arxiv}


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
    written: set[int] = field(default_factory=set)  # paper rows inserted or changed
    existed: bool = False  # the digest was stored before this load
    grows: bool = False  # a day that only grows, re-loaded without pruning: add, never remove or lower


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


# The tables a load writes and the planner's choices depend on; how many rows of each index ANALYZE reads.
_LOADED_TABLES = ("papers", "digests", "digest_entries")
_ANALYSIS_ROWS = 1000


class Loader:
    """Loads parsed digests. `after_load` hooks run inside each batch's transaction,
    `after_commit` listeners once it committed."""

    def __init__(self, db: Database, *, after_load: Sequence[AfterLoad] = (),
                 after_commit: Sequence[AfterCommit] = ()) -> None:
        self.db = db
        self.after_load = list(after_load)
        self.after_commit = list(after_commit)
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

    async def refresh_statistics(self) -> None:
        """Bring the query planner's statistics (sqlite_stat1) of the tables a load writes up to date.

        Called before and after a streamed load. Statistics taken when the archive was small (a few
        papers, all without an arXiv id) say that an arXiv id matches every paper, and the planner
        then answers "which of these ids are stored?" by scanning every paper for every id: re-running
        an interrupted snapshot load, whose papers are all stored, crawled. Sampled (analysis_limit),
        so it costs about the same at any archive size.
        """
        async with self.db.transaction() as conn:
            await conn.execute(f"PRAGMA analysis_limit = {_ANALYSIS_ROWS}")
            for table in _LOADED_TABLES:
                await conn.execute(f"ANALYZE {table}")

    async def load(self, digest: ParsedDigest, *, now: dt.datetime | None = None, prune: bool = False) -> LoadResult:
        """Load one digest in one transaction."""
        return (await self.load_many([digest], now=now, prune=prune))[0]

    async def load_many(self, digests: Iterable[ParsedDigest | PreparedRun], *,
                        now: dt.datetime | None = None, prune: bool = False) -> list[LoadResult]:
        """Load several batches (digests, or runs made by `prepare`) in one transaction (a chunk of a
        streaming format).

        A complete digest of a day that only grows (`ParsedDigest.grows`, Hugging Face) adds to the
        stored day: entries it lacks stay and figures never go down. `prune` makes it replace the
        day like any complete digest (a deliberate correction); `LoadResult.removed` says how many
        entries went, `kept` how many a smaller capture lacked.

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
                    found = [await _load_one(conn, item, stamp, prune)]
                for result in found:
                    for hook in self.after_load:
                        await hook(conn, result)
                results.extend(found)
        for listener in self.after_commit:
            try:
                await listener(results)
            except Exception:  # noqa: BLE001 - the load is committed; a listener cannot undo it
                log.exception("a listener of a committed load failed")
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


# The ids of a run that are stored already (unchanged papers: every one of them when an interrupted
# load runs again). Planned well only with current statistics (`Loader.refresh_statistics`).
STORED_IDS = "SELECT p.arxiv_id, p.id FROM json_each(?) AS k JOIN papers AS p ON p.arxiv_id = k.value"


async def _upsert_with_ids(conn: aiosqlite.Connection, batches: list[_Batch], payload: str, now: str) -> None:
    """Insert or update the papers of `payload` (the batches' papers that have an arXiv id, in
    order) in one statement; fill the batches' paper_ids for them."""
    authority = _authority(batches[0].listing.format)  # a run's batches come from one file
    changed = await conn.execute_fetchall(_UPSERT_BY_ID, {"rows": payload, "now": now, **authority})
    # Every inserted or changed row is returned. A run never names a paper twice, and a single
    # batch owns all its rows, so each returned row counts for exactly one batch.
    owner = {arxiv_id: batch for batch in batches for arxiv_id in batch.listing.ids if arxiv_id}
    pid_of: dict[str, int] = {}
    for pid, arxiv_id in changed:
        pid_of[arxiv_id] = pid
        owner[arxiv_id].written.add(pid)
    missing = [arxiv_id for arxiv_id in owner if arxiv_id not in pid_of]
    if missing:
        found = await conn.execute_fetchall(STORED_IDS, (json.dumps(missing),))
        pid_of.update((str(arxiv_id), int(pid)) for arxiv_id, pid in found)
    for batch in batches:
        batch.paper_ids = [pid_of.get(arxiv_id) if arxiv_id else pid
                           for arxiv_id, pid in zip(batch.listing.ids, batch.paper_ids, strict=True)]


# One statement writes a batch's entries and returns those it inserted or changed (a same-day
# refresh that only moved upvotes changed something). On a growing day (`_Batch.grows`) figures
# never go down and, when the capture lacks some of the day's papers (:keep), positions stay.
_ENTRY_VALUE = """CASE WHEN excluded.{col} IS NULL THEN digest_entries.{col}
        WHEN :grows AND digest_entries.{col} > excluded.{col} THEN digest_entries.{col}
        ELSE excluded.{col} END"""
_UPSERT_ENTRIES = f"""
INSERT INTO digest_entries (digest_id, paper_id, position, upvotes, comments)
SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4
FROM json_each(:rows) AS e WHERE true
ON CONFLICT (digest_id, paper_id) DO UPDATE SET
    position = CASE WHEN :keep THEN digest_entries.position ELSE excluded.position END,
    upvotes = {_ENTRY_VALUE.format(col="upvotes")},
    comments = {_ENTRY_VALUE.format(col="comments")}
WHERE digest_entries.position IS NOT (CASE WHEN :keep THEN digest_entries.position ELSE excluded.position END)
   OR digest_entries.upvotes IS NOT ({_ENTRY_VALUE.format(col="upvotes")})
   OR digest_entries.comments IS NOT ({_ENTRY_VALUE.format(col="comments")})
RETURNING digest_id, paper_id
"""  # noqa: S608 - built from the constants above; every value is a bound parameter


async def _drop_or_keep(conn: aiosqlite.Connection, batch: _Batch, listed: set[int]) -> tuple[int, int, int]:
    """For a complete batch: remove the digest's entries it does not list, or, on a growing day,
    keep them. Returns (removed, kept, the position after the last kept entry)."""
    if not batch.listing.complete or not batch.existed:
        return 0, 0, 0
    ids = json.dumps(sorted(listed))
    if not batch.grows:
        cursor = await conn.execute(
            "DELETE FROM digest_entries WHERE digest_id = ? AND paper_id NOT IN (SELECT value FROM json_each(?))",
            (batch.digest_id, ids))
        return max(cursor.rowcount, 0), 0, 0
    async with conn.execute(
        "SELECT COALESCE(SUM(paper_id NOT IN (SELECT value FROM json_each(?))), 0),"
        " COALESCE(MAX(position) + 1, 0) FROM digest_entries WHERE digest_id = ?",
        (ids, batch.digest_id)) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return (0, int(row[0]), int(row[1])) if row[0] else (0, 0, 0)


async def _write_entries(conn: aiosqlite.Connection, batches: list[_Batch], max_before: int) -> list[LoadResult]:
    """List each batch's papers in its digest (a complete digest replaces its list, except on a
    growing day; a partial batch adds to it), update the digests' counts, and say what each
    batch did."""
    results = []
    claimed: set[int] = set()  # papers already counted new by an earlier batch
    by_mode: dict[tuple[bool, bool], list[list[Any]]] = {}
    counts: list[tuple[_Batch, set[int], int, int, int]] = []
    for batch in batches:
        seen: set[int] = set()
        rows: list[list[Any]] = []
        d = batch.listing
        for pid, position, upvotes, comments in zip(batch.paper_ids, d.positions, d.upvotes, d.comments,
                                                    strict=True):
            if pid is None or pid in seen:
                continue  # the same paper twice in one list: keep its first position
            seen.add(pid)
            rows.append([batch.digest_id, pid, position, upvotes, comments])
        removed, kept, after = await _drop_or_keep(conn, batch, seen)
        if kept:
            # A smaller capture of a growing day: the day's order stays, its new papers go last.
            for i, row in enumerate(rows):
                row[2] = after + i
        by_mode.setdefault((batch.grows, bool(kept)), []).extend(rows)
        counts.append((batch, seen, removed, kept, len(rows)))
    changed: set[tuple[int, int]] = set()
    for (grows, keep), rows in by_mode.items():
        found = await conn.execute_fetchall(_UPSERT_ENTRIES, {"rows": _json(rows), "grows": grows, "keep": keep})
        changed.update((int(digest_id), int(pid)) for digest_id, pid in found)
    for batch, seen, removed, kept, count in counts:
        new_ids = {pid for pid in seen if pid > max_before and pid not in claimed}
        claimed |= seen
        touched = batch.written | {pid for pid in seen if (batch.digest_id, pid) in changed}
        updated = len((touched & seen) - new_ids)
        unchanged = not (new_ids or updated or removed or batch.merged) and (batch.existed or count > 0)
        d = batch.listing
        results.append(LoadResult(d.source, d.date, d.format, count, len(new_ids), batch.merged, updated,
                                  unchanged, batch.digest_id, () if unchanged else tuple(sorted(seen)),
                                  kept=kept, removed=removed))
    await conn.execute(
        "UPDATE digests SET paper_count = (SELECT COUNT(*) FROM digest_entries AS e WHERE e.digest_id = digests.id)"
        " WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({b.digest_id for b in batches})),),
    )
    return results


async def _load_one(conn: aiosqlite.Connection, digest: ParsedDigest, now: str, prune: bool = False) -> LoadResult:
    day = digest.date.isoformat()
    fingerprint = content_hash(digest) if digest.complete else None
    async with conn.execute(
        "SELECT id, content_hash, paper_count FROM digests WHERE source = ? AND date = ?", (digest.source, day)
    ) as cursor:
        existing = await cursor.fetchone()
    # Pruning a growing day always looks: a smaller capture merged before left its own fingerprint.
    if existing and digest.complete and existing["content_hash"] == fingerprint and not (prune and digest.grows):
        return LoadResult(digest.source, digest.date, digest.format, existing["paper_count"], 0, 0, 0, True,
                          existing["id"], ())

    await conn.execute(_TITLE_INDEX)  # looking papers up by title needs it (see `Loader.bulk`)
    keys = [identity_key(r.title, r.authors, r.abstract) for r in digest.papers]
    batch = _Batch(_listing(digest), await _open_digest(conn, digest, fingerprint, now), [None] * len(keys),
                   existed=existing is not None, grows=digest.grows and not prune)
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
            pid, changed = await _upsert_by_title(conn, {**_params(r, key, day, now), **_authority(digest.format)})
            batch.paper_ids[i] = pid
            if changed:
                batch.written.add(pid)
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
