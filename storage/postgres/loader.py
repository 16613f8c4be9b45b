"""storage/loader.py's steps on PostgreSQL.

The same rules as storage/sqlite/loader.py, in PostgreSQL's dialect. Differences that matter:
- loads are serialised by a transaction-scoped advisory lock (`lock_for_load`), as SQLite's write
  lock serialises them: two processes loading the same digest at once store it once, and the
  second sees the first's (its re-load is unchanged, so it notifies nobody);
- papers and digests are written by an UPDATE of the stored rows and an INSERT of the others, not
  by INSERT ... ON CONFLICT: that would draw an identity value for every conflicting row, and the
  ids would jump where SQLite's stay dense;
- papers travel by COPY into a staging table, the new ones' search vectors are computed by one
  statement that can use parallel workers, then one statement updates the stored papers and inserts
  the others with their vectors; entries travel as one JSON array parsed by the server
  (`json_array_elements`), like SQLite's `json_each`;
- that staging needs no lock, so it happens before the load's lock, and in a bulk load
  (`Loader.load_chunks`) the next chunk's transaction stages while the one before writes, on
  another connection: two server processes at work. The inserted papers' search index entries wait
  in the GIN index's pending list, filed into the index by the next staging (and at the end,
  `settle_search_index`) rather than by the inserting statement;
- the search column is filled as papers are written, so there is no index to defer, and the
  title_key index is never set aside (B-tree inserts cost PostgreSQL little, and re-creating it
  would lock the table).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from storage import library, loader, votes
from storage.loader import Listing, StoredDigest, authority
from storage.postgres.db import PostgresDatabase
from storage.records import PaperRecord, ParsedDigest

# pg_advisory_xact_lock key of loads: "pb-loads".
_LOAD_LOCK = 0x70622D6C6F616473

# $2: the record's text wins, $3: its extras win (storage.loader.authority).
_DEFERS = "(NOT $2 AND {t}categories <> '[]'::jsonb)"
_LINKS = "CASE WHEN $3 THEN {t}links || {new}links ELSE {new}links || {t}links END"


def _text_rules(t: str, new: str) -> dict[str, str]:
    """The new value of each text column: `t` qualifies the stored row's columns, `new` the record's."""
    defers = _DEFERS.format(t=t)
    rules = {"title": f"CASE WHEN {defers} THEN {t}title ELSE {new}title END"}
    for col, empty in (("abstract", "''"), ("authors", "'[]'::jsonb")):
        rules[col] = f"CASE WHEN {new}{col} <> {empty} AND NOT {defers} THEN {new}{col} ELSE {t}{col} END"
    rules["links"] = _LINKS.format(t=t, new=new)
    return rules


def _changes(rules: dict[str, str], t: str) -> str:
    return "\n   OR ".join(f"{t}{col} IS DISTINCT FROM ({rule})" for col, rule in rules.items())


_PAPER_COLUMNS = ("arxiv_id, title_key, title, abstract, authors, links, categories, keywords, ai_summary,"
                  " published, first_listed")
# Where COPY puts a run's papers before one statement upserts them (`stage_papers`): a table made in
# the load's transaction and dropped before it ends, named for its connection and run, since the next
# chunk's transaction stages its own while this one writes (`Loader.load_chunks`). Unlogged rather
# than temporary because parallel workers cannot read a session's temporary tables. Its rows are kept
# whole (toast_tuple_target): compressing what is read once and dropped only costs CPU. The SQL below
# names a stage "{stage}" and its vectors "{vectors}" (`_named`).
_CREATE_STAGE = """
CREATE UNLOGGED TABLE {stage} (
    arxiv_id text, title_key text, title text, abstract text, authors text, links text, categories text,
    keywords text, ai_summary text, published date, first_listed date, ord bigint
) WITH (toast_tuple_target = 8160)
"""
# The search vectors of the staged papers not stored yet, computed before they are inserted: CREATE
# TABLE AS may run on parallel workers (an INSERT, or the generated column it replaced, may not), and
# the text parsing and stemming is most of a load's server time. Staged ahead of the load's lock, a
# paper that the chunk before inserts meanwhile may get a vector it will not use (it is updated).
_NEW_VECTORS = """
CREATE TEMPORARY TABLE {vectors} WITH (toast_tuple_target = 8160) ON COMMIT DROP AS
SELECT s.ord, paperboy_search_vector(s.title, s.abstract) AS search FROM {stage} AS s
WHERE NOT EXISTS (SELECT 1 FROM papers AS p WHERE p.arxiv_id = s.arxiv_id)
"""
# Planner settings for those two statements, reset after each: the new stage has no statistics,
# and without these the planner deems it too small to share out.
_PARALLEL = {"parallel_setup_cost": "0", "parallel_tuple_cost": "0", "min_parallel_table_scan_size": "0"}
# The upsert's estimates are rough (its CTEs), and once they passed jit_above_cost every chunk
# compiled its plan; its sorts and the insert trigger's transition table spilled to disk at 4 MB.
# Its new papers' search index entries wait in the GIN index's pending list (the limit, 4 MB by
# default, would have this statement file them into the index itself, a quarter of its time): the
# next chunk's staging files them while this one writes (`stage_papers`), and the load's end files
# the last ones (`settle_search_index`).
_UPSERT_SETTINGS = {"jit": "off", "work_mem": "'64MB'", "gin_pending_list_limit": "'64MB'"}
# (Only the index's owner may file them: the role that ran the migrations, as a rule this one.)
_FILE_PENDING = ("SELECT gin_clean_pending_list(oid) FROM pg_class"
                 " WHERE oid = 'papers_search'::regclass AND pg_has_role(relowner, 'USAGE')")
_FROM_STAGE = """
SELECT arxiv_id, title_key, title, abstract, authors::jsonb AS authors, links::jsonb AS links,
       categories::jsonb AS categories, keywords::jsonb AS keywords, ai_summary, published, first_listed, ord
FROM {stage}
"""
# The next stage's number on this connection: 1 for a transaction's first, as every stage is dropped
# before its transaction ends, so that each chunk's statements read the same names and asyncpg's
# cache of prepared statements serves them all (a new name per chunk would fill it).
_NEXT_STAGE = ("SELECT COALESCE(MAX(split_part(relname, '_', 5)::integer), 0) + 1 FROM pg_class"
               " WHERE relname LIKE 'paperboy\\_papers\\_in\\_' || pg_backend_pid() || '\\_%'")


def _named(sql: str, stage: str) -> str:
    """`sql` reading the stage `stage` (and its vectors)."""
    return sql.replace("{stage}", stage).replace("{vectors}", stage.replace("_papers_", "_vectors_"))


_BY_ID = _text_rules("p.", "r.")
# $1: now. Changed rows are updated, new rows inserted in the payload's order; both are returned.
_UPSERT_BY_ID = f"""
WITH r AS MATERIALIZED ({_FROM_STAGE}),
changed AS (
    UPDATE papers AS p SET
        title = {_BY_ID["title"]},
        title_key = CASE WHEN {_DEFERS.format(t="p.")} THEN p.title_key ELSE r.title_key END,
        abstract = {_BY_ID["abstract"]},
        authors = {_BY_ID["authors"]},
        links = {_BY_ID["links"]},
        categories = CASE WHEN r.categories <> '[]'::jsonb THEN r.categories ELSE p.categories END,
        keywords = CASE WHEN r.keywords <> '[]'::jsonb THEN r.keywords ELSE p.keywords END,
        ai_summary = COALESCE(r.ai_summary, p.ai_summary),
        published = COALESCE(p.published, r.published),
        first_listed = LEAST(p.first_listed, r.first_listed),
        updated_at = $1
    FROM r
    WHERE p.arxiv_id = r.arxiv_id AND (
          {_changes(_BY_ID, "p.")}
       OR (r.categories <> '[]'::jsonb AND p.categories IS DISTINCT FROM r.categories)
       OR (r.keywords <> '[]'::jsonb AND p.keywords IS DISTINCT FROM r.keywords)
       OR (r.ai_summary IS NOT NULL AND p.ai_summary IS DISTINCT FROM r.ai_summary)
       OR (p.published IS NULL AND r.published IS NOT NULL)
       OR r.first_listed < p.first_listed)
    RETURNING p.id, p.arxiv_id
),
added AS (
    INSERT INTO papers ({_PAPER_COLUMNS}, search, created_at, updated_at)
    SELECT {_PAPER_COLUMNS}, v.search, $1, $1 FROM r LEFT JOIN {{vectors}} AS v ON v.ord = r.ord
    WHERE NOT EXISTS (SELECT 1 FROM papers AS p WHERE p.arxiv_id = r.arxiv_id)
    ORDER BY r.ord
    RETURNING id, arxiv_id
)
SELECT id, arxiv_id FROM changed UNION ALL SELECT id, arxiv_id FROM added
"""  # noqa: S608 - built from the constants above; every value is a bound parameter

_BY_ROWID = _text_rules("p.", "r.")
# An id-less record lands on the paper with its title: the one with an id if there is one.
# $1 now, $2 text_wins, $3 extras_win, $4 the paper's id, then the record's values.
_UPDATE_BY_ROWID = f"""
UPDATE papers AS p SET
    title = {_BY_ROWID["title"]},
    abstract = {_BY_ROWID["abstract"]},
    authors = {_BY_ROWID["authors"]},
    links = {_BY_ROWID["links"]},
    first_listed = LEAST(p.first_listed, r.listed),
    updated_at = $1
FROM (SELECT $5::text AS title, $6::text AS abstract, $7::jsonb AS authors, $8::jsonb AS links,
             $9::date AS listed) AS r
WHERE p.id = $4
  AND ({_changes(_BY_ROWID, "p.")}
       OR r.listed < p.first_listed)
"""  # noqa: S608 - built from the constants above; every value is a bound parameter

# One statement writes a batch's entries and returns those it inserted or changed. $1 the rows
# (a JSON array), $2 grows, $3 keep: as storage/sqlite/loader.py's _UPSERT_ENTRIES.
_ENTRY_VALUE = """CASE WHEN excluded.{col} IS NULL THEN e.{col}
        WHEN $2 AND e.{col} > excluded.{col} THEN e.{col}
        ELSE excluded.{col} END"""
_UPSERT_ENTRIES = f"""
INSERT INTO digest_entries AS e (digest_id, paper_id, position, upvotes, comments)
SELECT (r.value ->> 0)::bigint, (r.value ->> 1)::bigint, (r.value ->> 2)::integer, (r.value ->> 3)::integer,
       (r.value ->> 4)::integer
FROM json_array_elements($1::text::json) AS r(value)
ON CONFLICT (digest_id, paper_id) DO UPDATE SET
    position = CASE WHEN $3 THEN e.position ELSE excluded.position END,
    upvotes = {_ENTRY_VALUE.format(col="upvotes")},
    comments = {_ENTRY_VALUE.format(col="comments")}
WHERE e.position IS DISTINCT FROM (CASE WHEN $3 THEN e.position ELSE excluded.position END)
   OR e.upvotes IS DISTINCT FROM ({_ENTRY_VALUE.format(col="upvotes")})
   OR e.comments IS DISTINCT FROM ({_ENTRY_VALUE.format(col="comments")})
RETURNING e.digest_id, e.paper_id
"""  # noqa: S608 - built from the constants above; every value is a bound parameter


@loader.lock_for_load.register(PostgresDatabase)
async def lock_for_load(db: PostgresDatabase) -> None:
    await db.fetchone("SELECT pg_advisory_xact_lock($1)", (_LOAD_LOCK,))


@loader.stored_digest.register(PostgresDatabase)
async def stored_digest(db: PostgresDatabase, source: str, date: dt.date) -> StoredDigest | None:
    row = await db.fetchone("SELECT id, content_hash, paper_count FROM digests WHERE source = $1 AND date = $2",
                            (source, date))
    return StoredDigest(row["id"], row["content_hash"], row["paper_count"]) if row else None


@loader.open_digest.register(PostgresDatabase)
async def open_digest(db: PostgresDatabase, digest: ParsedDigest, fingerprint: str | None,
                      now: dt.datetime) -> int:
    row = await db.fetchone(
        "UPDATE digests SET format = $3, content_hash = COALESCE($4, content_hash), updated_at = $5"
        " WHERE source = $1 AND date = $2 RETURNING id",
        (digest.source, digest.date, digest.format, fingerprint, now))
    if row is None:
        row = await db.fetchone(
            "INSERT INTO digests (source, date, format, content_hash, fetched_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            (digest.source, digest.date, digest.format, fingerprint, now))
    assert row is not None
    return int(row["id"])


@loader.open_digests.register(PostgresDatabase)
async def open_digests(db: PostgresDatabase, listings: list[Listing], now: dt.datetime) -> list[int]:
    # One row per digest (a chunk may list a day twice), in order of first mention, its last format.
    formats = {(d.source, d.date): d.format for d in listings}
    found = await db.fetchall(
        "WITH r AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::date[], $3::text[])"
        "   WITH ORDINALITY AS r(source, date, format, ord)),"
        " changed AS (UPDATE digests AS d SET format = r.format, updated_at = $4 FROM r"
        "   WHERE d.source = r.source AND d.date = r.date RETURNING d.id, d.source, d.date),"
        " added AS (INSERT INTO digests (source, date, format, content_hash, fetched_at, updated_at)"
        "   SELECT r.source, r.date, r.format, NULL, $4, $4 FROM r"
        "   WHERE NOT EXISTS (SELECT 1 FROM digests AS d WHERE d.source = r.source AND d.date = r.date)"
        "   ORDER BY r.ord RETURNING id, source, date)"
        " SELECT id, source, date FROM changed UNION ALL SELECT id, source, date FROM added",
        ([s for s, _ in formats], [d for _, d in formats], list(formats.values()), now))
    id_of = {(r["source"], r["date"]): int(r["id"]) for r in found}
    return [id_of[(d.source, d.date)] for d in listings]


@loader.max_paper_id.register(PostgresDatabase)
async def max_paper_id(db: PostgresDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(id), 0) FROM papers")
    return int(row[0]) if row else 0


@loader.ensure_title_index.register(PostgresDatabase)
async def ensure_title_index(db: PostgresDatabase) -> None:
    pass  # never set aside on PostgreSQL


@loader.set_title_index_aside.register(PostgresDatabase)
async def set_title_index_aside(db: PostgresDatabase) -> bool:
    return False


_ADOPT_ONE = ("UPDATE papers SET arxiv_id = $1, updated_at = $3"
              " WHERE arxiv_id IS NULL AND title_key = $2"
              "   AND NOT EXISTS (SELECT 1 FROM papers AS p WHERE p.arxiv_id = $1)")


@loader.adopt_ids.register(PostgresDatabase)
async def adopt_ids(db: PostgresDatabase, pairs: list[tuple[str, str]], now: dt.datetime) -> int:
    ids = [arxiv_id for arxiv_id, _ in pairs]
    keys = [key for _, key in pairs]
    if len(set(ids)) < len(ids) or len(set(keys)) < len(keys):
        # An id or a title twice: what one record adopts decides what a later one can, so one by one.
        return sum([await db.execute(_ADOPT_ONE, (arxiv_id, key, now)) for arxiv_id, key in pairs])
    return await db.execute(
        "UPDATE papers AS o SET arxiv_id = r.arxiv_id, updated_at = $3"
        " FROM unnest($1::text[], $2::text[]) AS r(arxiv_id, title_key)"
        " WHERE o.arxiv_id IS NULL AND o.title_key = r.title_key"
        "   AND NOT EXISTS (SELECT 1 FROM papers AS p WHERE p.arxiv_id = r.arxiv_id)",
        (ids, keys, now))


def _staged(row: list[Any], order: int) -> tuple[Any, ...]:
    """A `payload_row` as COPY writes it to the staging table (jsonb goes as text: asyncpg's COPY
    is binary, and the pool's jsonb codec is a text one)."""
    arxiv_id, key, title, abstract, authors, links, categories, keywords, summary, published, listed = row
    return (arxiv_id, key, title, abstract, json.dumps(authors), json.dumps(links), json.dumps(categories),
            json.dumps(keywords), summary, dt.date.fromisoformat(published) if published else None,
            dt.date.fromisoformat(listed), order)


def _set_local(settings: dict[str, str]) -> str:
    return "".join(f"SET LOCAL {name} = {value};" for name, value in settings.items())


def _reset(settings: dict[str, str]) -> str:
    return "".join(f"RESET {name};" for name in settings)


@loader.stages_ahead.register(PostgresDatabase)
async def stages_ahead(db: PostgresDatabase) -> bool:
    return True


@loader.stage_papers.register(PostgresDatabase)
async def stage_papers(db: PostgresDatabase, payload: str) -> str:
    return await _stage(db, payload)


async def _stage(db: PostgresDatabase, payload: str) -> str:
    conn = db.bound
    assert conn is not None, "papers are staged inside a load's transaction"
    stage = f"paperboy_papers_in_{conn.get_server_pid()}_{await conn.fetchval(_NEXT_STAGE)}"
    await conn.execute(_named(_CREATE_STAGE, stage))
    await conn.copy_records_to_table(stage, records=[_staged(row, i) for i, row in enumerate(json.loads(payload))])
    await conn.execute(f"ANALYZE {stage} (arxiv_id, ord)")  # its size and keys: what the joins' plans need
    await conn.execute(_set_local(_PARALLEL) + _named(_NEW_VECTORS, stage) + ";" + _reset(_PARALLEL))
    await conn.execute(_FILE_PENDING)  # those of the chunk before, and of this one's before it (_UPSERT_SETTINGS)
    return stage


@loader.settle_search_index.register(PostgresDatabase)
async def settle_search_index(db: PostgresDatabase) -> None:
    await db.execute(_FILE_PENDING)


@loader.drop_stage.register(PostgresDatabase)
async def drop_stage(db: PostgresDatabase, stage: str) -> None:
    await db.execute(_named("DROP TABLE {vectors}; DROP TABLE {stage}", stage))


@loader.upsert_by_id.register(PostgresDatabase)
async def upsert_by_id(db: PostgresDatabase, payload: str, fmt: str, now: dt.datetime,
                       stage: str | None = None) -> list[tuple[int, str]]:
    if stage is None:
        stage = await _stage(db, payload)
    text_wins, extras_win = authority(fmt)
    await db.execute(_set_local(_UPSERT_SETTINGS))
    found = await db.fetchall(_named(_UPSERT_BY_ID, stage), (now, text_wins, extras_win))
    await db.execute(_reset(_UPSERT_SETTINGS))
    await drop_stage(db, stage)
    return [(int(r["id"]), str(r["arxiv_id"])) for r in found]


@loader.stored_ids.register(PostgresDatabase)
async def stored_ids(db: PostgresDatabase, arxiv_ids: list[str]) -> dict[str, int]:
    found = await db.fetchall("SELECT arxiv_id, id FROM papers WHERE arxiv_id = ANY($1::text[])", (arxiv_ids,))
    return {str(r["arxiv_id"]): int(r["id"]) for r in found}


@loader.upsert_by_title.register(PostgresDatabase)
async def upsert_by_title(db: PostgresDatabase, record: PaperRecord, key: str, listed: dt.date, fmt: str,
                          now: dt.datetime) -> tuple[int, bool]:
    text_wins, extras_win = authority(fmt)
    row = await db.fetchone("SELECT id FROM papers WHERE title_key = $1 ORDER BY arxiv_id IS NULL, id LIMIT 1",
                            (key,))
    if row is not None:
        changed = await db.execute(_UPDATE_BY_ROWID, (now, text_wins, extras_win, row["id"], record.title,
                                                      record.abstract, record.authors, record.links, listed))
        return int(row["id"]), changed > 0
    inserted = await db.fetchone(
        f"INSERT INTO papers ({_PAPER_COLUMNS}, created_at, updated_at)"  # noqa: S608 - a constant
        " VALUES (NULL, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        (key, record.title, record.abstract, record.authors, record.links, record.categories, record.keywords,
         record.ai_summary, record.published, listed, now))
    assert inserted is not None
    return int(inserted["id"]), True


@loader.merge_title_twins.register(PostgresDatabase)
async def merge_title_twins(db: PostgresDatabase, keys: list[str]) -> int:
    pairs = await db.fetchall(
        "SELECT o.id, MIN(p.id) FROM papers AS o"
        " JOIN papers AS p ON p.title_key = o.title_key AND p.arxiv_id IS NOT NULL"
        " WHERE o.title_key = ANY($1::text[]) AND o.arxiv_id IS NULL"
        " GROUP BY o.id ORDER BY o.id",
        (keys,))
    for orphan, keeper in pairs:
        await db.execute(
            "INSERT INTO digest_entries (digest_id, paper_id, position, upvotes, comments)"
            " SELECT digest_id, $1, position, upvotes, comments FROM digest_entries WHERE paper_id = $2"
            " ON CONFLICT DO NOTHING",
            (keeper, orphan))
        await db.execute(
            "UPDATE papers SET first_listed = LEAST(first_listed, (SELECT first_listed FROM papers WHERE id = $1))"
            " WHERE id = $2", (orphan, keeper))
        # Members' votes and saves follow the paper into its twin rather than vanish with it.
        await votes.move_votes(db, orphan, keeper)
        await library.move_saves(db, orphan, keeper)
        await db.execute("DELETE FROM papers WHERE id = $1", (orphan,))
    return len(pairs)


@loader.title_orphans.register(PostgresDatabase)
async def title_orphans(db: PostgresDatabase, keys: str) -> bool:
    row = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM papers WHERE arxiv_id IS NULL AND title_key = ANY($1::text[]))",
        (json.loads(keys),))
    return bool(row and row[0])


@loader.defer_search_index.register(PostgresDatabase)
async def defer_search_index(db: PostgresDatabase) -> None:
    pass  # the search column is written with the row


@loader.index_new_papers.register(PostgresDatabase)
async def index_new_papers(db: PostgresDatabase, max_before: int) -> None:
    pass  # the search column is written with the row


@loader.drop_or_keep.register(PostgresDatabase)
async def drop_or_keep(db: PostgresDatabase, digest_id: int, listed: list[int], grows: bool) -> tuple[int, int, int]:
    if not grows:
        removed = await db.execute(
            "DELETE FROM digest_entries WHERE digest_id = $1 AND NOT (paper_id = ANY($2::bigint[]))",
            (digest_id, listed))
        return removed, 0, 0
    row = await db.fetchone(
        "SELECT COUNT(*) FILTER (WHERE NOT (paper_id = ANY($1::bigint[]))), COALESCE(MAX(position) + 1, 0)"
        " FROM digest_entries WHERE digest_id = $2",
        (listed, digest_id))
    assert row is not None
    return (0, int(row[0]), int(row[1])) if row[0] else (0, 0, 0)


@loader.upsert_entries.register(PostgresDatabase)
async def upsert_entries(db: PostgresDatabase, rows: list[list[Any]], grows: bool,
                         keep: bool) -> set[tuple[int, int]]:
    found = await db.fetchall(_UPSERT_ENTRIES, (json.dumps(rows), grows, keep))
    return {(int(r["digest_id"]), int(r["paper_id"])) for r in found}


@loader.count_entries.register(PostgresDatabase)
async def count_entries(db: PostgresDatabase, digest_ids: list[int]) -> None:
    await db.execute(
        "UPDATE digests SET paper_count = (SELECT COUNT(*) FROM digest_entries AS e WHERE e.digest_id = digests.id)"
        " WHERE id = ANY($1::bigint[])",
        (digest_ids,))


@loader.refresh_statistics.register(PostgresDatabase)
async def refresh_statistics(db: PostgresDatabase) -> None:
    # ANALYZE samples a fixed number of rows: about the same cost at any archive size.
    await db.execute("ANALYZE papers, digests, digest_entries")

