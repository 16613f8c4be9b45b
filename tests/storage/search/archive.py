"""An archive for the search tests, on either backend: papers loaded as digests."""

from __future__ import annotations

import datetime as dt

from storage.db import Database
from storage.loader import Loader
from storage.postgres.db import PostgresDatabase
from storage.records import PaperRecord, ParsedDigest

D1 = dt.date(2025, 9, 8)


def paper(title: str, abstract: str = "We study things.", n: int | None = None) -> PaperRecord:
    return PaperRecord(title=title, abstract=abstract, arxiv_id=f"2509.{n:05d}" if n is not None else None,
                       links={"arxiv": f"https://arxiv.org/abs/2509.{n:05d}"} if n is not None else {})


async def load(db: Database, day: dt.date, *papers: PaperRecord, source: str = "hf-daily") -> None:
    if isinstance(db, PostgresDatabase):  # until the Loader runs on PostgreSQL
        await _load_pg(db, ParsedDigest(source=source, date=day, format="hf-api", papers=list(papers)))
        return
    await Loader(db).load(ParsedDigest(source=source, date=day, format="hf-api", papers=list(papers)))


async def _load_pg(db: PostgresDatabase, digest: ParsedDigest) -> None:
    now = dt.datetime.now(dt.UTC)
    async with db.atomic() as tx:
        row = await tx.fetchone(
            "INSERT INTO digests (source, date, format, fetched_at, updated_at) VALUES ($1, $2, $3, $4, $4)"
            " ON CONFLICT (source, date) DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
            (digest.source, digest.date, digest.format, now))
        assert row is not None
        for position, p in enumerate(digest.papers):
            found = await tx.fetchone(
                "INSERT INTO papers (arxiv_id, title_key, title, abstract, links, first_listed, created_at, updated_at)"
                " VALUES ($1, $2, $2, $3, $4, $5, $6, $6) ON CONFLICT (arxiv_id) DO UPDATE SET title = excluded.title,"
                " abstract = excluded.abstract, first_listed = LEAST(papers.first_listed, excluded.first_listed)"
                " RETURNING id", (p.arxiv_id, p.title, p.abstract, p.links, digest.date, now))
            assert found is not None
            await tx.execute("INSERT INTO digest_entries (digest_id, paper_id, position) VALUES ($1, $2, $3)"
                             " ON CONFLICT DO NOTHING", (row["id"], found["id"], position))


async def prefixed_archive(db: Database) -> Database:
    await load(db, D1,
               paper("Quantized Diffusion", "Vector quantization of diffusion models; the quantizer is biased.", 1),
               paper("Quantum Models", "Accelerated quantum circuits. Bias in video models.", 2),
               paper("Accelerating Video", "We accelerate video models with vector quantizers.", 3),
               paper("Biases in Models", "A biased model, accelerators, and vector quantum states.", 4),
               paper("Accuracy", "Accurate accounting of accelerators.", 5))
    return db
