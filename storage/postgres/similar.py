"""storage/similar.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from storage import similar
from storage.postgres.db import PostgresDatabase
from storage.similar import CORPUS_TERM, IndexSize, PaperText, TermWeights, VectorRow, pack, unpack

_CHUNK = 20_000  # rows per unnest() statement


@similar.texts.register(PostgresDatabase)
async def texts(db: PostgresDatabase, paper_ids: Sequence[int]) -> list[PaperText]:
    if not paper_ids:
        return []
    rows = await db.fetchall("SELECT id, title, abstract FROM papers WHERE id = ANY($1::bigint[]) ORDER BY id",
                             (list(paper_ids),))
    return [PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@similar.texts_after.register(PostgresDatabase)
async def texts_after(db: PostgresDatabase, after_id: int, limit: int) -> list[PaperText]:
    rows = await db.fetchall("SELECT id, title, abstract FROM papers WHERE id > $1 ORDER BY id LIMIT $2",
                             (after_id, limit))
    return [PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@similar.text_hashes.register(PostgresDatabase)
async def text_hashes(db: PostgresDatabase, paper_ids: Sequence[int]) -> dict[int, str]:
    if not paper_ids:
        return {}
    rows = await db.fetchall("SELECT paper_id, text_hash FROM similar_vectors WHERE paper_id = ANY($1::bigint[])",
                             (list(paper_ids),))
    return {int(r[0]): str(r[1]) for r in rows}


async def _stats(db: PostgresDatabase, terms: Sequence[str]) -> tuple[dict[str, tuple[int, int]], int]:
    rows = await db.fetchall("SELECT term, id, df FROM similar_terms WHERE term = ANY($1::text[])", (list(terms),))
    found = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
    row = await db.fetchone("SELECT df FROM similar_terms WHERE term = $1", (CORPUS_TERM,))
    return found, int(row[0]) if row else 0


# pg_advisory_xact_lock key of the similarity index's writers: "pbsimilr".
_INDEX_LOCK = 0x706273696D696C72


@similar.lock_index.register(PostgresDatabase)
async def lock_index(db: PostgresDatabase) -> None:
    await db.fetchone("SELECT pg_advisory_xact_lock($1)", (_INDEX_LOCK,))


@similar.count_terms.register(PostgresDatabase)
async def count_terms(db: PostgresDatabase, counts: Mapping[str, int],
                      papers: int) -> tuple[dict[str, tuple[int, int]], int]:
    ordered = sorted(counts.items())  # one order for every process: no deadlock between two loads
    added = [(t, n) for t, n in ordered if n > 0]
    gone = [(t, -n) for t, n in ordered if n < 0]
    async with db.atomic() as tx:
        for start in range(0, len(added), _CHUNK):
            chunk = added[start:start + _CHUNK]
            await tx.execute(
                "INSERT INTO similar_terms (term, df) SELECT * FROM unnest($1::text[], $2::integer[])"
                " ON CONFLICT (term) DO UPDATE SET df = similar_terms.df + EXCLUDED.df",
                ([t for t, _ in chunk], [n for _, n in chunk]))
        await tx.execute("INSERT INTO similar_terms (term, df) VALUES ($1, $2)"
                         " ON CONFLICT (term) DO UPDATE SET df = similar_terms.df + EXCLUDED.df", (CORPUS_TERM, papers))
        for start in range(0, len(gone), _CHUNK):
            chunk = gone[start:start + _CHUNK]
            await tx.execute(
                "UPDATE similar_terms s SET df = s.df - g.n FROM unnest($1::text[], $2::integer[]) AS g(t, n)"
                " WHERE s.term = g.t", ([t for t, _ in chunk], [n for _, n in chunk]))
            await tx.execute("DELETE FROM similar_terms WHERE term = ANY($1::text[]) AND df <= 0",
                             ([t for t, _ in chunk],))
        return await _stats(tx, [t for t, _ in ordered])


@similar.term_stats.register(PostgresDatabase)
async def term_stats(db: PostgresDatabase, terms: Sequence[str]) -> tuple[dict[str, tuple[int, int]], int]:
    return await _stats(db, list(terms))


@similar.set_terms.register(PostgresDatabase)
async def set_terms(db: PostgresDatabase, dfs: Mapping[str, int], papers: int) -> dict[str, int]:
    items = list(dfs.items())
    async with db.atomic() as tx:
        await tx.execute("TRUNCATE paper_terms, similar_vectors, similar_terms")
        await tx.execute("INSERT INTO similar_terms (id, term, df) VALUES (0, $1, $2)", (CORPUS_TERM, papers))
        for start in range(0, len(items), _CHUNK):
            chunk = items[start:start + _CHUNK]
            await tx.execute(
                "INSERT INTO similar_terms (id, term, df)"
                " SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[])",
                (list(range(start + 1, start + 1 + len(chunk))), [t for t, _ in chunk], [n for _, n in chunk]))
        await tx.execute("SELECT setval(pg_get_serial_sequence('similar_terms', 'id'), $1)", (len(items) + 1,))
    return {term: n for n, term in enumerate(dfs, 1)}


@similar.write_vectors.register(PostgresDatabase)
async def write_vectors(db: PostgresDatabase, rows: Sequence[VectorRow]) -> None:
    if not rows:
        return
    async with db.atomic() as tx:
        old = await tx.fetchall("SELECT paper_id, terms FROM similar_vectors WHERE paper_id = ANY($1::bigint[])",
                                ([r.paper_id for r in rows],))
        gone = [(t, w, int(r[0])) for r in old for t, w in unpack(bytes(r[1]))]
        if gone:
            await tx.execute(
                "DELETE FROM paper_terms p USING unnest($1::bigint[], $2::integer[], $3::bigint[]) AS g(t, w, i)"
                " WHERE p.term_id = g.t AND p.weight = g.w AND p.paper_id = g.i",
                ([g[0] for g in gone], [g[1] for g in gone], [g[2] for g in gone]))
        await tx.execute(
            "INSERT INTO similar_vectors (paper_id, terms, docs, text_hash)"
            " SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::integer[], $4::text[])"
            " ON CONFLICT (paper_id) DO UPDATE SET terms = EXCLUDED.terms, docs = EXCLUDED.docs,"
            " text_hash = EXCLUDED.text_hash",
            ([r.paper_id for r in rows], [pack(r.terms) for r in rows], [r.docs for r in rows],
             [r.text_hash for r in rows]))
        postings = [(t, w, r.paper_id) for r in rows for t, w in r.terms]
        for start in range(0, len(postings), _CHUNK):
            chunk = postings[start:start + _CHUNK]
            await tx.execute(
                "INSERT INTO paper_terms (term_id, weight, paper_id)"
                " SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[]) ON CONFLICT DO NOTHING",
                ([p[0] for p in chunk], [p[1] for p in chunk], [p[2] for p in chunk]))
        await tx.execute("DELETE FROM similar_retired WHERE paper_id = ANY($1::bigint[])",
                         ([r.paper_id for r in rows],))


@similar.vectors.register(PostgresDatabase)
async def vectors(db: PostgresDatabase, paper_ids: Sequence[int]) -> dict[int, TermWeights]:
    if not paper_ids:
        return {}
    rows = await db.fetchall("SELECT paper_id, terms FROM similar_vectors WHERE paper_id = ANY($1::bigint[])",
                             (list(paper_ids),))
    return {int(r[0]): unpack(bytes(r[1])) for r in rows}


@similar.candidates.register(PostgresDatabase)
async def candidates(db: PostgresDatabase, query: TermWeights, *, per_term: int | Sequence[int], limit: int,
                     exclude: int | None = None) -> list[tuple[int, int]]:
    read = similar.term_reads(query, per_term)
    if not read:
        return []
    rows = await db.fetchall(
        "SELECT p.paper_id, sum(q.w::bigint * p.weight) AS score"
        " FROM unnest($1::bigint[], $2::integer[], $3::bigint[]) AS q(t, w, n)"
        " CROSS JOIN LATERAL (SELECT paper_id, weight FROM paper_terms WHERE term_id = q.t"
        "                     ORDER BY weight DESC LIMIT q.n) AS p"
        " WHERE p.paper_id <> $4 GROUP BY p.paper_id ORDER BY score DESC, p.paper_id LIMIT $5",
        ([t for t, _, _ in read], [w for _, w, _ in read], [n for _, _, n in read],
         -1 if exclude is None else exclude, limit))
    return [(int(r[0]), int(r[1])) for r in rows]


@similar.term_names.register(PostgresDatabase)
async def term_names(db: PostgresDatabase, term_ids: Sequence[int]) -> dict[int, str]:
    if not term_ids:
        return {}
    rows = await db.fetchall("SELECT id, term FROM similar_terms WHERE id = ANY($1::bigint[])", (list(term_ids),))
    return {int(r[0]): str(r[1]) for r in rows}


@similar.recent_vectors.register(PostgresDatabase)
async def recent_vectors(db: PostgresDatabase, since: dt.date, limit: int) -> dict[int, TermWeights]:
    rows = await db.fetchall(
        "SELECT v.paper_id, v.terms FROM papers p JOIN similar_vectors v ON v.paper_id = p.id"
        " WHERE p.first_listed >= $1 ORDER BY p.first_listed DESC, p.id DESC LIMIT $2", (since, limit))
    return {int(r[0]): unpack(bytes(r[1])) for r in rows}


@similar.unindexed.register(PostgresDatabase)
async def unindexed(db: PostgresDatabase, low: int, high: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT p.id FROM papers p WHERE p.id >= $1 AND p.id < $2 AND NOT EXISTS"
        " (SELECT 1 FROM similar_vectors v WHERE v.paper_id = p.id) ORDER BY p.id DESC", (low, high))
    return [int(r[0]) for r in rows]


@similar.stale.register(PostgresDatabase)
async def stale(db: PostgresDatabase, low: int, high: int, docs_below: int) -> list[int]:
    rows = await db.fetchall("SELECT paper_id FROM similar_vectors WHERE paper_id >= $1 AND paper_id < $2"
                             " AND docs < $3 ORDER BY paper_id DESC", (low, high, docs_below))
    return [int(r[0]) for r in rows]


@similar.retired_texts.register(PostgresDatabase)
async def retired_texts(db: PostgresDatabase, paper_ids: Sequence[int]) -> dict[int, PaperText]:
    if not paper_ids:
        return {}
    rows = await db.fetchall("SELECT paper_id, title, abstract FROM similar_retired WHERE paper_id = ANY($1::bigint[])",
                             (list(paper_ids),))
    return {int(r[0]): PaperText(int(r[0]), str(r[1]), str(r[2])) for r in rows}


@similar.coverage.register(PostgresDatabase)
async def coverage(db: PostgresDatabase) -> tuple[int, int, int]:
    row = await db.fetchone("SELECT (SELECT count(*) FROM similar_vectors), (SELECT count(*) FROM papers),"
                            " (SELECT coalesce(max(id), 0) FROM papers)")
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


@similar.size.register(PostgresDatabase)
async def size(db: PostgresDatabase) -> IndexSize:
    row = await db.fetchone("SELECT (SELECT count(*) FROM similar_vectors), (SELECT count(*) FROM similar_terms),"
                            " (SELECT count(*) FROM paper_terms)")
    return IndexSize(int(row[0]), max(0, int(row[1]) - 1), int(row[2])) if row else IndexSize(0, 0, 0)
