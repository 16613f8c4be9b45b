"""Writes parsed digests into the archive: identity, merging, entries, all in one transaction.

Identity (NOTES §1.5): the arXiv id without version when known, else the normalised title. A
paper stored by title alone adopts the arXiv id of a later record with the same title; when
both already exist they are merged into the one with the id.

Bulk-friendly: each batch costs a handful of `executemany` calls, not one round trip per paper,
because every aiosqlite call is a hop to the connection's thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import Database, iso, now_utc
from storage.normalize import title_key
from storage.records import LoadResult, PaperRecord, ParsedDigest

# Called inside the load's transaction with every batch's result, e.g. to queue notifications
# atomically with the digest. Registered by the assistant; storage knows nothing of it.
AfterLoad = Callable[[aiosqlite.Connection, LoadResult], Awaitable[None]]

_UPSERT_BY_ID = """
INSERT INTO papers (arxiv_id, title_key, title, abstract, authors, links, categories, keywords,
                    ai_summary, published, first_listed, created_at, updated_at)
VALUES (:arxiv_id, :title_key, :title, :abstract, :authors, :links, :categories, :keywords,
        :ai_summary, :published, :listed, :now, :now)
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

_ADOPT_ID = """
UPDATE papers SET arxiv_id = :arxiv_id, updated_at = :now
WHERE arxiv_id IS NULL AND title_key = :title_key
  AND NOT EXISTS (SELECT 1 FROM papers AS p WHERE p.arxiv_id = :arxiv_id)
"""


@dataclass(slots=True)
class _Row:
    record: PaperRecord
    params: dict[str, Any]
    position: int


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


def _params(record: PaperRecord, listed: str, now: str) -> dict[str, Any]:
    return {
        "arxiv_id": record.arxiv_id,
        "title_key": title_key(record.title),
        "title": record.title,
        "abstract": record.abstract,
        "authors": json.dumps(record.authors, ensure_ascii=False),
        "links": json.dumps(record.links, ensure_ascii=False, sort_keys=True),
        "categories": json.dumps(record.categories),
        "keywords": json.dumps(record.keywords, ensure_ascii=False),
        "ai_summary": record.ai_summary,
        "published": record.published.isoformat() if record.published else None,
        "listed": listed,
        "now": now,
    }


class Loader:
    """Loads parsed digests. `after_load` hooks run inside each batch's transaction."""

    def __init__(self, db: Database, *, after_load: Sequence[AfterLoad] = ()) -> None:
        self.db = db
        self.after_load = list(after_load)

    async def load(self, digest: ParsedDigest, *, now: dt.datetime | None = None) -> LoadResult:
        """Load one digest in one transaction."""
        return (await self.load_many([digest], now=now))[0]

    async def load_many(self, digests: Iterable[ParsedDigest], *,
                        now: dt.datetime | None = None) -> list[LoadResult]:
        """Load several batches in one transaction (a chunk of a streaming format)."""
        stamp = iso(now or now_utc())
        async with self.db.transaction() as conn:
            results = []
            for digest in digests:
                result = await _load_one(conn, digest, stamp)
                for hook in self.after_load:
                    await hook(conn, result)
                results.append(result)
            return results


async def _scalar(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


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

    async with conn.execute(
        "INSERT INTO digests (source, date, format, content_hash, fetched_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (source, date) DO UPDATE SET format = excluded.format,"
        " content_hash = COALESCE(excluded.content_hash, digests.content_hash), updated_at = excluded.updated_at"
        " RETURNING id",
        (digest.source, day, digest.format, fingerprint, now, now),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    digest_id = int(row[0])
    max_before = int(await _scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM papers"))

    rows = [_Row(r, _params(r, day, now), r.position if r.position is not None else i)
            for i, r in enumerate(digest.papers)]
    with_id = [r for r in rows if r.record.arxiv_id]
    without_id = [r for r in rows if not r.record.arxiv_id]

    merged = written = 0  # written: rows the upserts inserted or changed
    if with_id:
        params = [r.params for r in with_id]
        cursor = await conn.executemany(_ADOPT_ID, params)
        merged = max(cursor.rowcount, 0)
        merged += await _merge_title_twins(conn, [r.params["title_key"] for r in with_id])
        cursor = await conn.executemany(_UPSERT_BY_ID, params)
        written = max(cursor.rowcount, 0)
    paper_ids: list[int | None] = [None] * len(rows)
    index_of = {id(r): i for i, r in enumerate(rows)}
    if with_id:
        ids = json.dumps([r.record.arxiv_id for r in with_id])
        async with conn.execute(
            "SELECT k.key, p.id FROM json_each(?) AS k JOIN papers AS p ON p.arxiv_id = k.value", (ids,)
        ) as cursor:
            for key, pid in await cursor.fetchall():
                paper_ids[index_of[id(with_id[key])]] = pid
    for r in without_id:
        pid, changed = await _upsert_by_title(conn, r.params)
        paper_ids[index_of[id(r)]] = pid
        written += changed

    # Entries: a complete digest replaces its list; a partial batch adds to it.
    seen: set[int] = set()
    entries = []
    for r, pid in zip(rows, paper_ids, strict=True):
        if pid is None or pid in seen:
            continue  # the same paper twice in one list: keep its first position
        seen.add(pid)
        entries.append((digest_id, pid, r.position, r.record.upvotes, r.record.comments))
    if digest.complete:
        await conn.execute("DELETE FROM digest_entries WHERE digest_id = ?", (digest_id,))
    await conn.executemany(
        "INSERT INTO digest_entries (digest_id, paper_id, position, upvotes, comments) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (digest_id, paper_id) DO UPDATE SET position = excluded.position,"
        " upvotes = COALESCE(excluded.upvotes, digest_entries.upvotes),"
        " comments = COALESCE(excluded.comments, digest_entries.comments)",
        entries,
    )
    count = int(await _scalar(conn, "SELECT COUNT(*) FROM digest_entries WHERE digest_id = ?", (digest_id,)))
    await conn.execute("UPDATE digests SET paper_count = ? WHERE id = ?", (count, digest_id))

    new = sum(1 for pid in seen if pid > max_before)
    updated = max(written - new, 0)
    return LoadResult(digest.source, digest.date, digest.format, len(entries), new, merged,
                      updated, False, digest_id, tuple(sorted(seen)))


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
