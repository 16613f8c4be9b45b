"""An archive for the search tests, on either backend: papers loaded as digests."""

from __future__ import annotations

import datetime as dt

from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest

D1 = dt.date(2025, 9, 8)


def paper(title: str, abstract: str = "We study things.", n: int | None = None) -> PaperRecord:
    return PaperRecord(title=title, abstract=abstract, arxiv_id=f"2509.{n:05d}" if n is not None else None,
                       links={"arxiv": f"https://arxiv.org/abs/2509.{n:05d}"} if n is not None else {})


async def load(db: Database, day: dt.date, *papers: PaperRecord, source: str = "hf-daily") -> None:
    await Loader(db).load(ParsedDigest(source=source, date=day, format="hf-api", papers=list(papers)))


async def prefixed_archive(db: Database) -> Database:
    await load(db, D1,
               paper("Quantized Diffusion", "Vector quantization of diffusion models; the quantizer is biased.", 1),
               paper("Quantum Models", "Accelerated quantum circuits. Bias in video models.", 2),
               paper("Accelerating Video", "We accelerate video models with vector quantizers.", 3),
               paper("Biases in Models", "A biased model, accelerators, and vector quantum states.", 4),
               paper("Accuracy", "Accurate accounting of accelerators.", 5))
    return db
