"""Keeping the similarity index current: a load's new papers are weighed and stored after it
commits, without touching the rest; `rebuild` weighs the whole archive again.

A load adds its new papers' terms to the document frequencies and weighs them against the
frequencies as they are then (bot/similar/vectors.py says why that is good enough); a paper whose
title or abstract changed (a Hugging Face listing, then arXiv's text) is weighed again, the terms
of the text its vector was made from (kept by the database when it changed: similar_retired)
counted out and its new ones in, so the frequencies stay those of a fresh build. Each weighing
is one transaction under the index's lock (storage.similar.lock_index): a paper is counted once
even when two processes weigh it. Loads of an archive format (the arXiv snapshot: up to millions
of papers in one import) are left to the bot's background catch-up (bot/similar/backfill.py) or
`rebuild`, which counts the frequencies over every paper first and then weighs each paper once,
far cheaper per paper than one load at a time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from bot.similar.text import terms, text_hash
from bot.similar.vectors import weigh
from storage import similar as similar_repo
from storage.db import Database
from storage.records import ARCHIVE_FORMATS, LoadResult
from storage.similar import PaperText, TermWeights, VectorRow

log = logging.getLogger(__name__)

_WRITE_BATCH = 1_000  # vectors per transaction
_READ_BATCH = 5_000  # papers read at a time by a whole-archive pass


def _terms_of(papers: Sequence[PaperText]) -> dict[int, Counter[str]]:
    return {p.paper_id: terms(p.title, p.abstract) for p in papers}


@dataclass(frozen=True, slots=True)
class Coverage:
    """How far the index is: papers with a vector, of all papers (the bot's catch-up weighs the
    rest: bot/similar/backfill.py)."""

    indexed: int
    papers: int

    @property
    def complete(self) -> bool:
        return self.indexed >= self.papers

    def text(self) -> str:
        return f"{self.indexed:,} of {self.papers:,} papers indexed"


async def coverage(db: Database) -> Coverage:
    indexed, papers, _ = await similar_repo.coverage(db)
    return Coverage(indexed, papers)


@dataclass(frozen=True, slots=True)
class IndexReport:
    papers: int  # papers weighed
    terms: int  # terms in the vocabulary


@dataclass(slots=True)
class SimilarIndex:
    db: Database

    async def after_commit(self, results: Sequence[LoadResult]) -> None:
        """A Loader listener: weigh the papers a committed load listed that are new or changed."""
        ids = sorted({i for r in results if not r.unchanged and r.format not in ARCHIVE_FORMATS
                      for i in r.paper_ids})
        if ids:
            report = await self.index(ids)
            log.debug("similarity index: %d papers weighed", report.papers)

    async def index(self, paper_ids: Sequence[int]) -> IndexReport:
        """Weigh these papers if they have no vector or their text changed since theirs."""
        found = await similar_repo.texts(self.db, paper_ids)
        hashes = await similar_repo.text_hashes(self.db, [p.paper_id for p in found])
        todo = [(p, text_hash(p.title, p.abstract)) for p in found]
        todo = [(p, h) for p, h in todo if hashes.get(p.paper_id) != h]
        if not todo:
            return IndexReport(0, 0)
        counts = _terms_of([p for p, _ in todo])
        async with self.db.atomic() as tx:
            await similar_repo.lock_index(tx)
            # Again under the lock: another process may have weighed some since.
            hashes = await similar_repo.text_hashes(tx, [p.paper_id for p, _ in todo])
            todo = [(p, h) for p, h in todo if hashes.get(p.paper_id) != h]
            if not todo:
                return IndexReport(0, 0)
            delta = await self._delta(tx, todo, counts, hashes)
            stats, corpus = await similar_repo.count_terms(
                tx, delta, sum(1 for p, _ in todo if p.paper_id not in hashes))
            rest = sorted({t for p, _ in todo for t in counts[p.paper_id]} - stats.keys())
            if rest:
                stats.update((await similar_repo.term_stats(tx, rest))[0])
            rows = [VectorRow(p.paper_id, weigh(counts[p.paper_id], stats, corpus), corpus, h) for p, h in todo]
            for start in range(0, len(rows), _WRITE_BATCH):
                await similar_repo.write_vectors(tx, rows[start:start + _WRITE_BATCH])
        return IndexReport(len(rows), len(stats))

    @staticmethod
    async def _delta(tx: Database, todo: list[tuple[PaperText, str]], counts: dict[int, Counter[str]],
                     hashes: dict[int, str]) -> dict[str, int]:
        """What weighing `todo` changes in the document frequencies: a new paper's terms count in;
        a changed paper's old terms (the text its vector was made from) count out and its new ones in."""
        retired = await similar_repo.retired_texts(tx, [p.paper_id for p, _ in todo if p.paper_id in hashes])
        delta: Counter[str] = Counter()
        for paper, _ in todo:
            old = hashes.get(paper.paper_id)
            was = retired.get(paper.paper_id)
            if old is None:
                delta.update(counts[paper.paper_id].keys())
            elif was is not None and text_hash(was.title, was.abstract) == old:
                delta.update(counts[paper.paper_id].keys())
                delta.subtract(terms(was.title, was.abstract).keys())
            # else its text was counted from a text no longer known: left as counted (--rebuild)
        return {t: n for t, n in delta.items() if n}

    async def reweigh(self, paper_ids: Sequence[int]) -> int:
        """Weigh these indexed papers again against today's frequencies (their text unchanged:
        nothing is counted); how many were."""
        found = await similar_repo.texts(self.db, paper_ids)
        counts = _terms_of(found)
        async with self.db.atomic() as tx:
            await similar_repo.lock_index(tx)
            hashes = await similar_repo.text_hashes(tx, [p.paper_id for p in found])
            same = [(p, h) for p in found if hashes.get(p.paper_id) == (h := text_hash(p.title, p.abstract))]
            if not same:
                return 0
            stats, corpus = await similar_repo.term_stats(tx, sorted({t for p, _ in same for t in counts[p.paper_id]}))
            await similar_repo.write_vectors(
                tx, [VectorRow(p.paper_id, weigh(counts[p.paper_id], stats, corpus), corpus, h) for p, h in same])
        return len(same)

    async def vector_of(self, paper: PaperText) -> TermWeights:
        """The paper's stored vector, or (not indexed yet) one weighed now from outside the corpus."""
        stored = await similar_repo.vectors(self.db, [paper.paper_id])
        if paper.paper_id in stored:
            return stored[paper.paper_id]
        counts = terms(paper.title, paper.abstract)
        stats, corpus = await similar_repo.term_stats(self.db, sorted(counts))
        return weigh(counts, stats, corpus, counted=False)

    async def rebuild(self, progress: Callable[[str, int], None] | None = None) -> IndexReport:
        """Forget the index and weigh every paper against the whole archive's frequencies."""
        df: Counter[str] = Counter()
        corpus = 0
        async for batch in self._all_papers():
            for paper in batch:
                df.update(terms(paper.title, paper.abstract).keys())
            corpus += len(batch)
            if progress is not None:
                progress("counted", corpus)
        shared = {t: n for t, n in df.items() if n > 1}  # a term of one paper links it to nothing
        del df
        ids = await similar_repo.set_terms(self.db, shared, corpus)
        stats = {t: (ids[t], n) for t, n in shared.items()}
        weighed = 0
        async for batch in self._all_papers():
            rows = [VectorRow(p.paper_id, weigh(terms(p.title, p.abstract), stats, corpus), corpus,
                              text_hash(p.title, p.abstract)) for p in batch]
            await similar_repo.write_vectors(self.db, rows)
            weighed += len(rows)
            if progress is not None:
                progress("weighed", weighed)
        return IndexReport(weighed, len(stats))

    async def _all_papers(self) -> AsyncIterator[list[PaperText]]:
        after = 0
        while True:
            batch = await similar_repo.texts_after(self.db, after, _READ_BATCH)
            if not batch:
                return
            yield batch
            after = batch[-1].paper_id
