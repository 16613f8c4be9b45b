"""storage/similar.py on SQLite."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

from storage import similar
from storage.similar import CORPUS_TERM, IndexSize, PaperText, TermWeights, VectorRow, pack, unpack
from storage.sqlite.db import SqliteDatabase

_CHUNK = 5_000  # terms per IN (json_each) list
_STATEMENT_ROWS = 2_000  # rows per executemany: a reader sharing the connection waits for one call at most


def _ids(values: Sequence[int] | Sequence[str]) -> str:
    return json.dumps(list(values))


@similar.texts.register(SqliteDatabase)
async def texts(db: SqliteDatabase, paper_ids: Sequence[int]) -> list[PaperText]:
    if not paper_ids:
        return []
    rows = await db.fetchall("SELECT id, title, abstract FROM papers WHERE id IN (SELECT value FROM json_each(?))"
                             " ORDER BY id", (_ids(paper_ids),))
    return [PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@similar.texts_after.register(SqliteDatabase)
async def texts_after(db: SqliteDatabase, after_id: int, limit: int) -> list[PaperText]:
    rows = await db.fetchall("SELECT id, title, abstract FROM papers WHERE id > ? ORDER BY id LIMIT ?",
                             (after_id, limit))
    return [PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@similar.text_hashes.register(SqliteDatabase)
async def text_hashes(db: SqliteDatabase, paper_ids: Sequence[int]) -> dict[int, str]:
    if not paper_ids:
        return {}
    rows = await db.fetchall("SELECT paper_id, text_hash FROM similar_vectors"
                             " WHERE paper_id IN (SELECT value FROM json_each(?))", (_ids(paper_ids),))
    return {int(r[0]): str(r[1]) for r in rows}


async def _stats(db: SqliteDatabase, terms: Sequence[str]) -> tuple[dict[str, tuple[int, int]], int]:
    found: dict[str, tuple[int, int]] = {}
    for start in range(0, len(terms), _CHUNK):
        rows = await db.fetchall(
            "SELECT term, id, df FROM similar_terms WHERE term IN (SELECT value FROM json_each(?))",
            (_ids(terms[start:start + _CHUNK]),))
        found.update({str(r[0]): (int(r[1]), int(r[2])) for r in rows})
    row = await db.fetchone("SELECT df FROM similar_terms WHERE term = ?", (CORPUS_TERM,))
    return found, int(row[0]) if row else 0


@similar.lock_index.register(SqliteDatabase)
async def lock_index(db: SqliteDatabase) -> None:
    return None  # `atomic` began with BEGIN IMMEDIATE: the write lock is held already


@similar.count_terms.register(SqliteDatabase)
async def count_terms(db: SqliteDatabase, counts: Mapping[str, int],
                      papers: int) -> tuple[dict[str, tuple[int, int]], int]:
    gone = sorted((t, -n) for t, n in counts.items() if n < 0)
    added = [*sorted((t, n) for t, n in counts.items() if n > 0), (CORPUS_TERM, papers)]
    async with db.atomic() as tx, tx.transaction() as conn:
        for start in range(0, len(added), _STATEMENT_ROWS):
            await conn.executemany(
                "INSERT INTO similar_terms (term, df) VALUES (?, ?)"
                " ON CONFLICT (term) DO UPDATE SET df = df + excluded.df", added[start:start + _STATEMENT_ROWS])
        await conn.executemany("UPDATE similar_terms SET df = df - ? WHERE term = ?", ((n, t) for t, n in gone))
        await conn.executemany("DELETE FROM similar_terms WHERE term = ? AND df <= 0", ((t,) for t, _ in gone))
        return await _stats(tx, sorted(counts))


@similar.term_stats.register(SqliteDatabase)
async def term_stats(db: SqliteDatabase, terms: Sequence[str]) -> tuple[dict[str, tuple[int, int]], int]:
    return await _stats(db, list(terms))


@similar.set_terms.register(SqliteDatabase)
async def set_terms(db: SqliteDatabase, dfs: Mapping[str, int], papers: int) -> dict[str, int]:
    async with db.transaction() as conn:
        for table in ("paper_terms", "similar_vectors", "similar_terms"):
            await conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        await conn.execute("INSERT INTO similar_terms (id, term, df) VALUES (0, ?, ?)", (CORPUS_TERM, papers))
        await conn.executemany("INSERT INTO similar_terms (id, term, df) VALUES (?, ?, ?)",
                               ((n, term, df) for n, (term, df) in enumerate(dfs.items(), 1)))
    return {term: n for n, term in enumerate(dfs, 1)}


@similar.write_vectors.register(SqliteDatabase)
async def write_vectors(db: SqliteDatabase, rows: Sequence[VectorRow]) -> None:
    if not rows:
        return
    async with db.transaction() as conn:
        ids = _ids([r.paper_id for r in rows])
        async with conn.execute("SELECT paper_id, terms FROM similar_vectors"
                                " WHERE paper_id IN (SELECT value FROM json_each(?))", (ids,)) as cursor:
            old = [(int(r[0]), unpack(bytes(r[1]))) for r in await cursor.fetchall()]
        await conn.executemany("DELETE FROM paper_terms WHERE term_id = ? AND weight = ? AND paper_id = ?",
                               ((t, w, p) for p, terms in old for t, w in terms))
        await conn.executemany(
            "INSERT INTO similar_vectors (paper_id, terms, docs, text_hash) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (paper_id) DO UPDATE SET terms = excluded.terms, docs = excluded.docs,"
            " text_hash = excluded.text_hash",
            ((r.paper_id, pack(r.terms), r.docs, r.text_hash) for r in rows))
        postings = [(t, w, r.paper_id) for r in rows for t, w in r.terms]
        for start in range(0, len(postings), _STATEMENT_ROWS):
            await conn.executemany("INSERT OR IGNORE INTO paper_terms (term_id, weight, paper_id) VALUES (?, ?, ?)",
                                   postings[start:start + _STATEMENT_ROWS])
        await conn.execute("DELETE FROM similar_retired WHERE paper_id IN (SELECT value FROM json_each(?))", (ids,))


@similar.vectors.register(SqliteDatabase)
async def vectors(db: SqliteDatabase, paper_ids: Sequence[int]) -> dict[int, TermWeights]:
    if not paper_ids:
        return {}
    rows = await db.fetchall("SELECT paper_id, terms FROM similar_vectors"
                             " WHERE paper_id IN (SELECT value FROM json_each(?))", (_ids(paper_ids),))
    return {int(r[0]): unpack(bytes(r[1])) for r in rows}


@similar.candidates.register(SqliteDatabase)
async def candidates(db: SqliteDatabase, query: TermWeights, *, per_term: int | Sequence[int], limit: int,
                     exclude: int | None = None) -> list[tuple[int, int]]:
    read = similar.term_reads(query, per_term)
    if not read:
        return []
    parts, params = [], []
    for term_id, weight, cap in read:
        parts.append("SELECT paper_id, weight * ? AS s FROM (SELECT paper_id, weight FROM paper_terms"
                     " WHERE term_id = ? ORDER BY weight DESC LIMIT ?)")
        params += [weight, term_id, cap]
    sql = (f"SELECT paper_id, sum(s) AS score FROM ({' UNION ALL '.join(parts)})"  # noqa: S608 - fixed text
           " WHERE paper_id <> ? GROUP BY paper_id ORDER BY score DESC, paper_id LIMIT ?")
    rows = await db.fetchall(sql, (*params, -1 if exclude is None else exclude, limit))
    return [(int(r[0]), int(r[1])) for r in rows]


@similar.term_names.register(SqliteDatabase)
async def term_names(db: SqliteDatabase, term_ids: Sequence[int]) -> dict[int, str]:
    if not term_ids:
        return {}
    rows = await db.fetchall("SELECT id, term FROM similar_terms WHERE id IN (SELECT value FROM json_each(?))",
                             (_ids(term_ids),))
    return {int(r[0]): str(r[1]) for r in rows}


@similar.recent_vectors.register(SqliteDatabase)
async def recent_vectors(db: SqliteDatabase, since: dt.date, limit: int) -> dict[int, TermWeights]:
    rows = await db.fetchall(
        "SELECT v.paper_id, v.terms FROM papers p JOIN similar_vectors v ON v.paper_id = p.id"
        " WHERE p.first_listed >= ? ORDER BY p.first_listed DESC, p.id DESC LIMIT ?", (since.isoformat(), limit))
    return {int(r[0]): unpack(bytes(r[1])) for r in rows}


@similar.unindexed.register(SqliteDatabase)
async def unindexed(db: SqliteDatabase, low: int, high: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT p.id FROM papers p WHERE p.id >= ? AND p.id < ? AND NOT EXISTS"
        " (SELECT 1 FROM similar_vectors v WHERE v.paper_id = p.id) ORDER BY p.id DESC", (low, high))
    return [int(r[0]) for r in rows]


@similar.stale.register(SqliteDatabase)
async def stale(db: SqliteDatabase, low: int, high: int, docs_below: int) -> list[int]:
    rows = await db.fetchall("SELECT paper_id FROM similar_vectors WHERE paper_id >= ? AND paper_id < ? AND docs < ?"
                             " ORDER BY paper_id DESC", (low, high, docs_below))
    return [int(r[0]) for r in rows]


@similar.retired_texts.register(SqliteDatabase)
async def retired_texts(db: SqliteDatabase, paper_ids: Sequence[int]) -> dict[int, PaperText]:
    if not paper_ids:
        return {}
    rows = await db.fetchall("SELECT paper_id, title, abstract FROM similar_retired"
                             " WHERE paper_id IN (SELECT value FROM json_each(?))", (_ids(paper_ids),))
    return {int(r[0]): PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows}


@similar.coverage.register(SqliteDatabase)
async def coverage(db: SqliteDatabase) -> tuple[int, int, int]:
    row = await db.fetchone("SELECT (SELECT count(*) FROM similar_vectors), (SELECT count(*) FROM papers),"
                            " (SELECT coalesce(max(id), 0) FROM papers)")
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


@similar.size.register(SqliteDatabase)
async def size(db: SqliteDatabase) -> IndexSize:
    row = await db.fetchone("SELECT (SELECT count(*) FROM similar_vectors), (SELECT count(*) FROM similar_terms),"
                            " (SELECT count(*) FROM paper_terms)")
    return IndexSize(int(row[0]), max(0, int(row[1]) - 1), int(row[2])) if row else IndexSize(0, 0, 0)
