"""The same queries find the same papers on SQLite (FTS5) and PostgreSQL (tsvector) over the
sample digest (tests/fixtures, the bundled one). Where the two can differ (docs/search.md, "On
PostgreSQL"), the difference is pinned here too, so a change on either side shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.backends import open_database
from storage.db import Database
from storage.records import PaperRecord
from storage.search import parse
from storage.search.fts import search
from tests.storage.search.archive import load, paper

SAMPLE_DAY = dt.date(2025, 9, 9)

# One query of each kind the language has, in the sample's own words.
SAME = [
    "diffusion", "diffusion models", "language models", "quantization", "quantized", "transformers",
    "efficient inference", "3D", "GPU", "LLMs", "reinforcement learning", "speculative decoding",
    '"large language models"', '"vision transformer"', '"state space models"', '"neural radiance"',
    "diffusion -image", "language -title:survey", 'models -"language models"',
    "mamba OR rnn", "lora OR adapter", "gaussian OR splatting", "attention OR transformer",
    "quantiz*", "diffus*", "accel*", "optim*", '"vision trans"*', "title:quant*",
    "title:diffusion", 'title:"language models"', "-title:survey models", "title:gaussian splatting",
    "compression", "pruning", "distillation", "benchmark", "agents", "zzqxj",
    # Acronyms' plurals: FTS5's Porter stemmer drops the s, PostgreSQL looks for both numbers.
    "GPU", "GPUs", "LLM", "LLMs", "mamba OR rnn", "CNNs",
    # Words FTS5 splits and PostgreSQL's parser keeps whole, or splits otherwise.
    "gpt-4", "GPT-4o", "vision-language", "end-to-end", "state-of-the-art", '"state of the art"', "FP8",
]


def sample() -> list[PaperRecord]:
    fixtures = Path(__file__).parents[2] / "fixtures"
    text = (fixtures / "hf-daily-papers-page-sep-9.txt").read_text(encoding="utf-8")
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    start = blocks.index("Sep 9") + 1
    return [paper(t, a, i) for i, (t, a) in enumerate(zip(blocks[start::2], blocks[start + 1::2], strict=False))]


async def found(db: Database, text: str) -> set[str]:
    page = await search(db, parse(text), limit=100)
    titles = {h.title.text for h in page.hits}
    if page.next_cursor:
        titles |= {h.title.text for h in (await search(db, parse(text), limit=100, cursor=page.next_cursor)).hits}
    assert len(titles) == page.count
    return titles


@pytest.fixture
async def both(tmp_path: Path, pg_url: str) -> AsyncIterator[tuple[Database, Database]]:
    lite, pg = await open_database(tmp_path / "sample.db"), await open_database(pg_url)
    for db in (lite, pg):
        await load(db, SAMPLE_DAY, *sample())
    yield lite, pg
    await lite.close()
    await pg.close()


async def test_the_same_queries_find_the_same_papers(both: tuple[Database, Database]) -> None:
    lite, pg = both
    differ = {}
    for text in SAME:
        a, b = await found(lite, text), await found(pg, text)
        if a != b:
            differ[text] = (sorted(a - b), sorted(b - a))
    assert differ == {}



async def test_where_they_differ_as_documented(both: tuple[Database, Database]) -> None:
    lite, pg = both
    # Stop words are not indexed on PostgreSQL: alone, they find nothing.
    assert len(await found(lite, "the")) == 144 and await found(pg, "the") == set()
    assert await found(pg, "the diffusion") == await found(pg, "diffusion")
    # Porter (FTS5) stems general, generation and generative alike; Snowball English does not.
    general = await found(pg, "general")
    assert general < await found(lite, "general")
    assert await found(pg, "generation") == await found(pg, "generative") != general
