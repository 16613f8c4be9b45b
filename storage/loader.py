"""Writes parsed digests into the archive: identity, merging, entries, all in one transaction.

Identity (docs/formats.md#identity): the arXiv id without version when known, else the normalised title. A
paper stored by title alone adopts the arXiv id of a later record with the same title; when
both already exist they are merged into the one with the id.

The algorithm is here, once; each of its steps is a `@per_backend` function whose SQL is in
storage/sqlite/loader.py and storage/postgres/loader.py. A load is one `db.atomic()` transaction,
and the `after_load` hooks receive the `Database` it yields, so what they write commits or rolls
back with the digest.

Bulk-friendly: a batch costs a handful of statements, not one round trip per paper. Consecutive
streaming batches whose papers all have arXiv ids (a snapshot chunk: one batch per date) are
written together as one "run": one statement (SQLite) or one COPY (PostgreSQL) for all its papers.

A large streaming file is loaded chunk after chunk by `Loader.load_chunks`: one transaction per
chunk, and where the backend gains by it (PostgreSQL) the next chunk's transaction stages its papers
while the chunk before writes, taking the load's lock once that one has committed.

Preparing a run (title keys, the rows as JSON) needs no database: `prepare` does it apart, so that a
bulk load can build its runs in a parsing process while this one writes (bot/ingest/worker.py);
`Loader.load_many` takes the `PreparedRun`s it yields as well as plain digests.

Inside `Loader.bulk()` (a large file into a smaller archive) a backend may set the title_key index
aside and rebuild it once at the end (SQLite does: see storage/sqlite/loader.py). Nothing relies on
it for correctness, and every path that looks papers up by title makes sure it exists first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from storage.db import Database, now_utc
from storage.dispatch import per_backend
from storage.normalize import identity_key, strip_nul
from storage.records import LoadResult, PaperRecord, ParsedDigest

log = logging.getLogger(__name__)

# Called inside the load's transaction with every batch's result, e.g. to queue notifications
# atomically with the digest: its first argument is the database bound to that transaction
# (`db.atomic()`). Registered by the assistant; storage knows nothing of it.
AfterLoad = Callable[[Database, LoadResult], Awaitable[None]]
# Called once a load's transaction has committed, with every batch's result: to wake what reads the
# new rows (the title index, the daily post, sending notifications). A listener that fails is
# logged, not raised: the load is stored whatever a listener does.
AfterCommit = Callable[[Sequence[LoadResult]], Awaitable[None]]


def authority(fmt: str) -> tuple[bool, bool]:
    """Which source a field comes from when a paper is listed by several (docs/formats.md, "Sources
    and merging"), as (text_wins, extras_win) for a record of format `fmt`.

    arXiv's formats own the title, authors and abstract; Hugging Face's own the keywords, the AI
    summary and the code and project links (the upvotes are per listing, on the entry). `text_wins`:
    the record comes from arXiv, or is a Paperboy export; `extras_win`: it comes from Hugging Face,
    or is an export. A paper has been described by arXiv when it has categories (only arXiv lists
    them): then a Hugging Face record leaves its text alone.
    """
    arxiv, hf = fmt.startswith("arxiv-"), fmt.startswith("hf-")
    return not hf, not arxiv


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

    `payload` is the JSON array of every batch's paper rows (`payload_row`) in order, `keys` the
    JSON list of their title keys. Plain data (picklable): built by `prepare`, possibly in another
    process.
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
class Batch:
    """One digest on its way in: its listing, its digest row, and what writing its papers did."""

    listing: Listing
    digest_id: int
    paper_ids: list[int | None]
    merged: int = 0
    written: set[int] = field(default_factory=set)  # paper rows inserted or changed
    existed: bool = False  # the digest was stored before this load
    grows: bool = False  # a day that only grows, re-loaded without pruning: add, never remove or lower


@dataclass(slots=True, frozen=True)
class StoredDigest:
    """What a load needs to know of a digest already stored."""

    id: int
    content_hash: str | None
    paper_count: int


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


def compact_json(value: object) -> str:
    # Compact, as SQLite's JSON functions write it: json_patch() of equal links must compare equal
    # to what was stored, or every re-load would count (and rewrite) every paper as updated.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def listing_of(digest: ParsedDigest) -> Listing:
    papers = digest.papers
    return Listing(digest.source, digest.date, digest.format, digest.complete, [r.arxiv_id for r in papers],
                   [r.position if r.position is not None else i for i, r in enumerate(papers)],
                   [r.upvotes for r in papers], [r.comments for r in papers])


def payload_row(r: PaperRecord, key: str, day: str) -> list[Any]:
    """A paper as a row of a run's payload: arxiv_id, title_key, title, abstract, authors, links,
    categories, keywords, ai_summary, published, first_listed (days as ISO text)."""
    return [r.arxiv_id, key, r.title, r.abstract, r.authors, r.links, r.categories, r.keywords, r.ai_summary,
            r.published.isoformat() if r.published else None, day]


def _prepare_run(run: list[ParsedDigest]) -> PreparedRun:
    rows: list[list[Any]] = []
    keys: list[str] = []
    for digest in run:
        day = digest.date.isoformat()
        for r in digest.papers:
            strip_nul(r)  # parsed input has none left (bounds), a record built in code may
            key = identity_key(r.title, r.authors, r.abstract)
            keys.append(key)
            rows.append(payload_row(r, key, day))
    return PreparedRun([listing_of(d) for d in run], compact_json(keys), compact_json(rows))


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


# -- the steps, written per backend --------------------------------------------------------------
# Each takes the database bound to the load's transaction.

@per_backend
async def lock_for_load(db: Database) -> None:
    """Make this load the only one writing the archive until its transaction ends, so that two
    processes loading the same digest at once store it once (the second sees the first's)."""
    raise NotImplementedError


@per_backend
async def stored_digest(db: Database, source: str, date: dt.date) -> StoredDigest | None:
    """The digest of `source` on `date`, if stored."""
    raise NotImplementedError


@per_backend
async def open_digest(db: Database, digest: ParsedDigest, fingerprint: str | None, now: dt.datetime) -> int:
    """Insert or refresh `digest`'s row (its format, fingerprint when given, updated_at); its id."""
    raise NotImplementedError


@per_backend
async def open_digests(db: Database, listings: list[Listing], now: dt.datetime) -> list[int]:
    """`open_digest` for several partial batches (no fingerprint) at once; their ids in order."""
    raise NotImplementedError


@per_backend
async def max_paper_id(db: Database) -> int:
    """The highest paper id (0 for none): papers inserted afterwards have higher ones."""
    raise NotImplementedError


@per_backend
async def ensure_title_index(db: Database) -> None:
    """Make sure papers can be looked up by title_key quickly (a bulk load may have set the index aside)."""
    raise NotImplementedError


@per_backend
async def adopt_ids(db: Database, pairs: list[tuple[str, str]], now: dt.datetime) -> int:
    """For each (arxiv_id, title_key) in order: a paper stored by that title alone, with no paper
    holding the id yet, takes the id. Returns how many did."""
    raise NotImplementedError


@per_backend
async def merge_title_twins(db: Database, keys: list[str]) -> int:
    """Fold id-less papers into a paper with an id and the same title (their listings move over,
    the earliest first_listed stays); returns how many were folded."""
    raise NotImplementedError


@per_backend
async def stages_ahead(db: Database) -> bool:
    """Whether a chunk's transaction gains by staging its runs' papers (`stage_papers`) while the
    chunk before it writes (`Loader.load_chunks`): where staging is work of its own that needs no
    lock (PostgreSQL), not where a transaction holds the only writer's lock from its start (SQLite)."""
    raise NotImplementedError


@per_backend
async def stage_papers(db: Database, payload: str) -> str | None:
    """Before the load's lock: put the papers of a run's `payload` where `upsert_by_id` will read
    them, doing there what needs no lock (PostgreSQL: COPY them into a table of this transaction's
    own, compute the search vectors of those not stored yet, and file the search index entries that
    the loads before left pending: `settle_search_index`). The stage's name, for
    `upsert_by_id` or, if the run is not written from it, `drop_stage`; None where the backend
    stages nothing (SQLite)."""
    raise NotImplementedError


@per_backend
async def settle_search_index(db: Database) -> None:
    """Once loads have committed: finish the search index upkeep their writes left to the next
    load's staging (PostgreSQL: the new papers' entries wait in the GIN index's pending list, which
    every search reads whole); nothing where a load indexes its papers itself (SQLite)."""
    raise NotImplementedError


@per_backend
async def drop_stage(db: Database, stage: str) -> None:
    """Drop a stage made by `stage_papers` that `upsert_by_id` will not read."""
    raise NotImplementedError


@per_backend
async def upsert_by_id(db: Database, payload: str, fmt: str, now: dt.datetime,
                       stage: str | None = None) -> list[tuple[int, str]]:
    """Insert or update the papers of `payload` (a JSON array of `payload_row`s, all with an arXiv
    id) following the sources' authority (`authority(fmt)`); the (id, arxiv_id) of every row
    inserted or changed. A paper named twice is written as one after the other would. `stage`:
    where `stage_papers` put them, if it was called (the stage is dropped)."""
    raise NotImplementedError


@per_backend
async def stored_ids(db: Database, arxiv_ids: list[str]) -> dict[str, int]:
    """The paper ids of those of `arxiv_ids` that are stored."""
    raise NotImplementedError


@per_backend
async def upsert_by_title(db: Database, record: PaperRecord, key: str, listed: dt.date, fmt: str,
                          now: dt.datetime) -> tuple[int, bool]:
    """The paper id for an id-less record (the paper with its title: one with an id if there is
    one, inserted if none), and whether its row was inserted or changed."""
    raise NotImplementedError


@per_backend
async def title_orphans(db: Database, keys: str) -> bool:
    """Whether any id-less paper has one of the title keys in `keys` (a JSON list)."""
    raise NotImplementedError


@per_backend
async def defer_search_index(db: Database) -> None:
    """Before a run's papers are written: index its new papers for search together afterwards
    (`index_new_papers`) rather than one by one, where the backend gains by it."""
    raise NotImplementedError


@per_backend
async def index_new_papers(db: Database, max_before: int) -> None:
    """After a run's papers are written: index for search those inserted (ids above `max_before`)."""
    raise NotImplementedError


@per_backend
async def drop_or_keep(db: Database, digest_id: int, listed: list[int], grows: bool) -> tuple[int, int, int]:
    """For a complete batch of a stored digest: remove the digest's entries whose paper is not in
    `listed`, or, on a growing day, keep them. Returns (removed, kept, the position after the last
    entry when some are kept, else 0)."""
    raise NotImplementedError


@per_backend
async def upsert_entries(db: Database, rows: list[list[Any]], grows: bool, keep: bool) -> set[tuple[int, int]]:
    """Write entries ([digest_id, paper_id, position, upvotes, comments], each pair once); the
    (digest_id, paper_id) of those inserted or changed. On a growing day (`grows`) figures never
    go down and, with `keep` (the capture lacks some of the day's papers), positions stay."""
    raise NotImplementedError


@per_backend
async def count_entries(db: Database, digest_ids: list[int]) -> None:
    """Set the digests' paper_count to their number of entries."""
    raise NotImplementedError


@per_backend
async def set_title_index_aside(db: Database) -> bool:
    """Inside `Loader.bulk`, before the first run: stop maintaining the title_key index if that
    makes a bulk load faster on this backend. True when it was set aside (rebuilt by
    `ensure_title_index` once the bulk load ends)."""
    raise NotImplementedError


@per_backend
async def refresh_statistics(db: Database) -> None:
    """Bring the query planner's statistics of the tables a load writes up to date (sampled)."""
    raise NotImplementedError


# -- the algorithm ------------------------------------------------------------------------------

async def _upsert_with_ids(tx: Database, batches: list[Batch], payloads: Sequence[tuple[str, str | None]],
                           now: dt.datetime) -> None:
    """Insert or update the papers of `payloads` (the batches' papers that have an arXiv id, in
    order, each payload naming an id at most once, with its stage if it was staged); fill the
    batches' paper_ids for them."""
    changed: list[tuple[int, str]] = []
    for payload, stage in payloads:
        changed += await upsert_by_id(tx, payload, batches[0].listing.format, now, stage)  # a run's batches: one file
    # Every inserted or changed row is returned. A run never names a paper twice, and a single
    # batch owns all its rows, so each returned row counts for exactly one batch.
    owner = {arxiv_id: batch for batch in batches for arxiv_id in batch.listing.ids if arxiv_id}
    pid_of: dict[str, int] = {}
    for pid, arxiv_id in changed:
        pid_of[arxiv_id] = pid
        owner[arxiv_id].written.add(pid)
    missing = [arxiv_id for arxiv_id in owner if arxiv_id not in pid_of]
    if missing:
        pid_of.update(await stored_ids(tx, missing))
    for batch in batches:
        batch.paper_ids = [pid_of.get(arxiv_id) if arxiv_id else pid
                           for arxiv_id, pid in zip(batch.listing.ids, batch.paper_ids, strict=True)]


async def _write_entries(tx: Database, batches: list[Batch], max_before: int) -> list[LoadResult]:
    """List each batch's papers in its digest (a complete digest replaces its list, except on a
    growing day; a partial batch adds to it), update the digests' counts, and say what each
    batch did."""
    results = []
    claimed: set[int] = set()  # papers already counted new by an earlier batch
    by_mode: dict[tuple[bool, bool], list[list[Any]]] = {}
    counts: list[tuple[Batch, set[int], int, int, int]] = []
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
        removed = kept = after = 0
        if batch.listing.complete and batch.existed:
            removed, kept, after = await drop_or_keep(tx, batch.digest_id, sorted(seen), batch.grows)
        if kept:
            # A smaller capture of a growing day: the day's order stays, its new papers go last.
            for i, row in enumerate(rows):
                row[2] = after + i
        by_mode.setdefault((batch.grows, bool(kept)), []).extend(rows)
        counts.append((batch, seen, removed, kept, len(rows)))
    changed: set[tuple[int, int]] = set()
    for (grows, keep), rows in by_mode.items():
        changed |= await upsert_entries(tx, rows, grows, keep)
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
    await count_entries(tx, sorted({b.digest_id for b in batches}))
    return results


async def _load_one(tx: Database, digest: ParsedDigest, now: dt.datetime, prune: bool = False) -> LoadResult:
    for r in digest.papers:
        strip_nul(r)  # parsed input has none left (bounds), a record built in code may
    fingerprint = content_hash(digest) if digest.complete else None
    existing = await stored_digest(tx, digest.source, digest.date)
    # Pruning a growing day always looks: a smaller capture merged before left its own fingerprint.
    if existing and digest.complete and existing.content_hash == fingerprint and not (prune and digest.grows):
        return LoadResult(digest.source, digest.date, digest.format, existing.paper_count, 0, 0, 0, True,
                          existing.id, ())

    await ensure_title_index(tx)  # looking papers up by title needs it (see `Loader.bulk`)
    keys = [identity_key(r.title, r.authors, r.abstract) for r in digest.papers]
    batch = Batch(listing_of(digest), await open_digest(tx, digest, fingerprint, now), [None] * len(keys),
                  existed=existing is not None, grows=digest.grows and not prune)
    max_before = await max_paper_id(tx)
    day = digest.date.isoformat()
    with_id = [(r, key) for r, key in zip(digest.papers, keys, strict=True) if r.arxiv_id]
    if with_id:
        batch.merged = await adopt_ids(tx, [(str(r.arxiv_id), key) for r, key in with_id], now)
        batch.merged += await merge_title_twins(tx, [key for _, key in with_id])
        # A paper listed twice (two cards) is written as the second record over the first.
        layers: list[list[list[Any]]] = []
        times: dict[str | None, int] = {}
        for r, key in with_id:
            n = times[r.arxiv_id] = times.get(r.arxiv_id, -1) + 1
            if n == len(layers):
                layers.append([])
            layers[n].append(payload_row(r, key, day))
        await _upsert_with_ids(tx, [batch], [(compact_json(layer), None) for layer in layers], now)
    for i, (r, key) in enumerate(zip(digest.papers, keys, strict=True)):
        if not r.arxiv_id:
            pid, changed = await upsert_by_title(tx, r, key, digest.date, digest.format, now)
            batch.paper_ids[i] = pid
            if changed:
                batch.written.add(pid)
    return (await _write_entries(tx, [batch], max_before))[0]


async def _load_run(tx: Database, run: PreparedRun, now: dt.datetime, stage: str | None) -> list[LoadResult]:
    """Write consecutive partial batches whose papers all have arXiv ids, none twice, together
    (`stage`: where `stage_papers` put their papers, if anywhere).

    Equivalent to loading them one by one: with no id-less paper sharing a title with the run
    (checked first; otherwise they are loaded one by one), there is nothing to adopt or merge, and
    distinct ids make each batch's counts its own.
    """
    if await title_orphans(tx, run.keys):
        if stage is not None:
            await drop_stage(tx, stage)
        return [await _load_one(tx, digest, now) for digest in run.digests()]
    ids = await open_digests(tx, run.listings, now)
    batches = [Batch(listing, digest_id, [None] * len(listing.ids))
               for listing, digest_id in zip(run.listings, ids, strict=True)]
    max_before = await max_paper_id(tx)
    await defer_search_index(tx)
    await _upsert_with_ids(tx, batches, [(run.payload, stage)], now)
    # Inserted rows, and only they, have ids above the highest before (ids are never reused
    # below the maximum, and loads are serialised: `lock_for_load`).
    await index_new_papers(tx, max_before)
    return await _write_entries(tx, batches, max_before)


class Loader:
    """Loads parsed digests. `after_load` hooks run inside each batch's transaction,
    `after_commit` listeners once it committed."""

    def __init__(self, db: Database, *, after_load: Sequence[AfterLoad] = (),
                 after_commit: Sequence[AfterCommit] = ()) -> None:
        self.db = db
        self.after_load = list(after_load)
        self.after_commit = list(after_commit)
        self._bulk = False  # inside `bulk()` with a load big enough to rebuild the title index after
        self._title_index_aside = False

    @asynccontextmanager
    async def bulk(self, expected_papers: int) -> AsyncIterator[None]:
        """Load a large streaming input: if `expected_papers` is at least a quarter of the archive,
        runs may stop maintaining the title_key index (`set_title_index_aside`), which is rebuilt
        when this ends (however it ends; a killed process leaves it to the next title look-up or
        bulk load to rebuild).

        Below that share, updating the index as papers arrive costs less than rebuilding it.
        """
        self._bulk = expected_papers * 4 >= await max_paper_id(self.db)
        try:
            yield
        finally:
            self._bulk = False
            if self._title_index_aside:
                self._title_index_aside = False
                async with self.db.atomic() as tx:
                    await ensure_title_index(tx)

    async def refresh_statistics(self) -> None:
        """Bring the query planner's statistics of the tables a load writes up to date.

        Called before and after a streamed load. Statistics taken when the archive was small (a few
        papers, all without an arXiv id) say that an arXiv id matches every paper, and the planner
        then answers "which of these ids are stored?" by scanning every paper for every id: re-running
        an interrupted snapshot load, whose papers are all stored, crawled. Sampled, so it costs
        about the same at any archive size.
        """
        await refresh_statistics(self.db)

    async def load(self, digest: ParsedDigest, *, now: dt.datetime | None = None, prune: bool = False) -> LoadResult:
        """Load one digest in one transaction."""
        return (await self.load_many([digest], now=now, prune=prune))[0]

    def moment(self) -> dt.datetime:
        """The time a load is stamped with when not told (`now`)."""
        return now_utc()

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
        results = await self._load(list(prepare(digests)), now, prune, None)
        await settle_search_index(self.db)
        return results

    async def load_chunks(self, chunks: AsyncIterable[Sequence[ParsedDigest | PreparedRun]], *,
                          prune: bool = False) -> AsyncGenerator[list[LoadResult], None]:
        """`load_many` of each chunk in turn, each in its transaction; yields each chunk's results
        once it has committed.

        Where the backend stages ahead (`stages_ahead`), a chunk's transaction opens and stages its
        papers (`stage_papers`) while the chunk before it writes, and takes the load's lock only once
        that one has committed (and its listeners have run): the writes stay one chunk at a time, in
        order, each chunk all or nothing, and a chunk that fails, or an interruption, rolls back the
        chunk staged after it too. The upkeep a chunk leaves to the next one's staging is finished
        once the last has committed (`settle_search_index`). Elsewhere this is `load_many` of one
        chunk after the other.
        """
        if not await stages_ahead(self.db):
            async for chunk in chunks:
                yield await self.load_many(chunk, prune=prune)
            return
        loads: list[asyncio.Task[list[LoadResult]]] = []  # the chunk writing, then the one staging
        try:
            async for chunk in chunks:
                loads.append(asyncio.create_task(
                    self._load(list(prepare(chunk)), None, prune, loads[-1] if loads else None)))
                if len(loads) == 2:
                    results = await loads[0]
                    del loads[0]
                    yield results
            if loads:
                results = await loads[0]
                del loads[0]
                await settle_search_index(self.db)
                yield results
        finally:
            for load in loads:
                load.cancel()
            await asyncio.gather(*loads, return_exceptions=True)

    async def _load(self, items: list[ParsedDigest | PreparedRun], now: dt.datetime | None, prune: bool,
                    after: asyncio.Future[list[LoadResult]] | None) -> list[LoadResult]:
        """Load `items` in one transaction, writing once the load `after` (if any) has ended."""
        async with self.db.atomic() as tx:
            stages = [await stage_papers(tx, item.payload) if isinstance(item, PreparedRun) else None
                      for item in items]
            if after is not None:
                await after  # its failure is this chunk's too: it rolls back
            await lock_for_load(tx)
            moment = now or self.moment()
            results: list[LoadResult] = []
            for item, stage in zip(items, stages, strict=True):
                if isinstance(item, PreparedRun):
                    if self._bulk and not self._title_index_aside:
                        self._title_index_aside = await set_title_index_aside(tx)
                    found = await _load_run(tx, item, moment, stage)
                else:
                    found = [await _load_one(tx, item, moment, prune)]
                for result in found:
                    for hook in self.after_load:
                        await hook(tx, result)
                results.extend(found)
        for listener in self.after_commit:
            try:
                await listener(results)
            except Exception:  # noqa: BLE001 - the load is committed; a listener cannot undo it
                log.exception("a listener of a committed load failed")
        return results
