"""The similarity index's data: the vocabulary with document frequencies, each paper's vector (its
heaviest TF-IDF terms), and the same vectors inverted per term (issue #18).

What a term is and how a paper's terms are weighed is the assistant's business (bot/similar/);
this module stores and reads the results. A vector is packed bytes (`pack`/`unpack`): its term
ids and weights, weights in 1/10000 so that they are small integers in both backends' postings.
The corpus size (the N of the IDF) is kept as the document frequency of the empty term, so it
moves with the frequencies in the same statement.

The SQL: storage/sqlite/similar.py, storage/postgres/similar.py.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend

SCALE = 10_000  # a stored weight is round(weight * SCALE); a unit vector's weights are at most 1
CORPUS_TERM = ""  # its df is the number of papers counted into the frequencies

TermWeights = list[tuple[int, int]]  # (term id, weight in 1/SCALE), heaviest first


def pack(terms: TermWeights) -> bytes:
    """A vector as bytes: the term ids (32-bit), then the weights (16-bit), little-endian."""
    n = len(terms)
    return struct.pack(f"<{n}I{n}H", *(t for t, _ in terms), *(w for _, w in terms))


def unpack(blob: bytes) -> TermWeights:
    n = len(blob) // 6
    values = struct.unpack(f"<{n}I{n}H", blob)
    return list(zip(values[:n], values[n:], strict=True))


@dataclass(frozen=True, slots=True)
class PaperText:
    paper_id: int
    title: str
    abstract: str


@dataclass(frozen=True, slots=True)
class VectorRow:
    """One paper's vector to store: `docs` the corpus size it was weighed against."""

    paper_id: int
    terms: TermWeights
    docs: int
    text_hash: str


@dataclass(frozen=True, slots=True)
class IndexSize:
    vectors: int
    terms: int
    postings: int


@per_backend
async def texts(db: Database, paper_ids: Sequence[int]) -> list[PaperText]:
    """The title and abstract of each of these papers that is stored, in id order."""
    raise NotImplementedError


@per_backend
async def texts_after(db: Database, after_id: int, limit: int) -> list[PaperText]:
    """Up to `limit` papers with an id above `after_id`, in id order (a whole-archive pass)."""
    raise NotImplementedError


@per_backend
async def text_hashes(db: Database, paper_ids: Sequence[int]) -> dict[int, str]:
    """The text hash each of these papers' stored vector was made from (papers with a vector only)."""
    raise NotImplementedError


@per_backend
async def lock_index(db: Database) -> None:
    """Inside `db.atomic()`: wait for any other process's index writes to end, and keep them out
    until this transaction ends (a paper is then counted into the frequencies once)."""
    raise NotImplementedError


@per_backend
async def count_terms(db: Database, counts: Mapping[str, int], papers: int) -> tuple[dict[str, tuple[int, int]], int]:
    """Add `counts` (term -> papers having it, negative for papers that no longer have it) to the
    document frequencies and `papers` to the corpus size, in one transaction. A negative count only
    lowers a known term; a term no paper has any more is forgotten. Returns {term: (id, df)} for
    the known terms among these and the corpus size, both counting these papers."""
    raise NotImplementedError


@per_backend
async def term_stats(db: Database, terms: Sequence[str]) -> tuple[dict[str, tuple[int, int]], int]:
    """{term: (id, df)} for the known terms among `terms`, and the corpus size."""
    raise NotImplementedError


@per_backend
async def set_terms(db: Database, dfs: Mapping[str, int], papers: int) -> dict[str, int]:
    """A rebuild's vocabulary: forget every vector and term, then store these document frequencies
    and corpus size; returns {term: id}."""
    raise NotImplementedError


@per_backend
async def write_vectors(db: Database, rows: Sequence[VectorRow]) -> None:
    """Store these vectors (replacing a paper's earlier one and its postings, and forgetting the
    text it was made from), in one transaction."""
    raise NotImplementedError


@per_backend
async def vectors(db: Database, paper_ids: Sequence[int]) -> dict[int, TermWeights]:
    """The stored vectors of these papers (papers without one are absent)."""
    raise NotImplementedError


def term_reads(query: TermWeights, per_term: int | Sequence[int]) -> list[tuple[int, int, int]]:
    """(term id, query weight, postings to read) for each term of `query` that `candidates` reads
    (`per_term`: one depth for all, or one a term; 0 skips the term)."""
    depths = [per_term] * len(query) if isinstance(per_term, int) else list(per_term)
    return [(t, w, n) for (t, w), n in zip(query, depths, strict=True) if n > 0]


@per_backend
async def candidates(db: Database, query: TermWeights, *, per_term: int | Sequence[int], limit: int,
                     exclude: int | None = None) -> list[tuple[int, int]]:
    """Papers sharing terms with `query`, by the sum over its terms of query weight × their weight,
    reading only the `per_term` heaviest postings of each term (one number for all, or one a term
    of `query`; 0 skips the term): (paper id, score), best first, at most `limit`. Postings of
    papers since deleted may be among them (they have no vector)."""
    raise NotImplementedError


@per_backend
async def term_names(db: Database, term_ids: Sequence[int]) -> dict[int, str]:
    raise NotImplementedError


@per_backend
async def recent_vectors(db: Database, since: dt.date, limit: int) -> dict[int, TermWeights]:
    """The vectors of papers first listed on or after `since` (the newest `limit`)."""
    raise NotImplementedError


@per_backend
async def unindexed(db: Database, low: int, high: int) -> list[int]:
    """The ids of papers from `low` up to (not including) `high` that have no vector, newest first."""
    raise NotImplementedError


@per_backend
async def stale(db: Database, low: int, high: int, docs_below: int) -> list[int]:
    """The ids of papers from `low` up to (not including) `high` whose vector was weighed against
    fewer than `docs_below` papers, newest first."""
    raise NotImplementedError


@per_backend
async def retired_texts(db: Database, paper_ids: Sequence[int]) -> dict[int, PaperText]:
    """The text each of these papers' vector was made from, for those whose text changed since."""
    raise NotImplementedError


@per_backend
async def coverage(db: Database) -> tuple[int, int, int]:
    """(papers with a vector, papers, highest paper id): how far the index is."""
    raise NotImplementedError


@per_backend
async def size(db: Database) -> IndexSize:
    raise NotImplementedError
