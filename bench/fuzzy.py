"""Fuzzy title look-up: accuracy on noisy titles and latency, against brute-force rapidfuzz.

The 144 real titles of the sample digest are hidden among the synthetic corpus (whose titles
recombine pieces of the same titles, so distractors are adversarially close) and looked up
from noisy versions: typos, missing words, reordered words, fragments, case and punctuation,
the short name before the colon, LaTeX written differently. Each size reports top-1 / top-5,
p50 / p95 latency in-process after start-up, start-up time (from the saved snapshot, and a full
build without one) and the index's memory; the baselines are `rapidfuzz.process.extract` over
every title with WRatio and token_set_ratio (on an evenly spaced subset of the queries: they
take ~0.5 s each at 100k).

Fragments: because distractors reuse the real titles' halves word for word, a fragment cut from
inside one half ("Training and Inference Efficiency") is also a phrase of hundreds of other
titles, and no look-up can tell which paper was meant. A person who remembers a fragment
remembers one that tells the paper apart, so the measured fragment is grown a word at a time
(rightwards, then leftwards) until no other title in the database holds it as a phrase. The
fragments as first cut are still measured, in their own row ("fragment as cut"), outside the
overall figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.common import Row
    from bot.lookup.index import TitleIndex
    from storage.db import Database

# The shared bench modules are imported where used, so that the tests can use `noisy_queries`
# on their own.

NAME = "fuzzy"
DESCRIPTION = "fuzzy title look-up (paperboy paper): accuracy on noisy titles, latency, start-up, memory"

_GREEK_LATEX = {"Δ": "\\Delta", "π": "\\pi"}
_GREEK_PLAIN = {"Δ": "Delta", "π": "pi"}


@dataclass(frozen=True, slots=True)
class NoisyQuery:
    kind: str
    query: str
    title: str  # the real title it should find


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("swap", "drop", "double", "replace"))
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if edit == "drop":
        return word[:i] + word[i + 1:]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1:]


def _short_name(title: str) -> str | None:
    name, colon, _ = title.partition(":")
    return name.strip() if colon and len(name.split()) <= 2 else None


def noisy_queries(titles: Sequence[str], seed: int = 7) -> list[NoisyQuery]:
    """Deterministic noisy versions of each title, one per kind that applies."""
    found: list[NoisyQuery] = []
    for n, title in enumerate(titles):
        rng = random.Random(f"{seed}:{title}")
        words = title.split()

        def add(kind: str, query: str, title: str = title) -> None:
            found.append(NoisyQuery(kind, query, title))

        long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        typo_words = list(words)
        for i in rng.sample(long_words, min(2, len(long_words))):
            typo_words[i] = _typo(words[i], rng)
        add("typo", " ".join(typo_words))
        if len(words) >= 4:
            drop = set(rng.sample(range(len(words)), max(1, len(words) // 4)))
            add("missing words", " ".join(w for i, w in enumerate(words) if i not in drop))
        name, colon, rest = title.partition(": ")
        if colon:
            add("reordered", f"{rest} {name}")
        elif len(words) >= 4:
            i = rng.randrange(len(words) - 1)
            swapped = list(words)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            add("reordered", " ".join(swapped))
        if len(words) >= 6:
            if n % 2:
                start = max(0, len(words) // 2 - 3)
                add("fragment", " ".join(words[start:start + 6]))
            else:
                add("fragment", " ".join(words[:max(4, len(words) * 3 // 5)]))
        add("case/punctuation", re.sub(r"[^\w\s$\\]", " ", title).lower())
        short = _short_name(title)
        if short:
            add("short name", short)
        if any(ch in title for ch in _GREEK_LATEX):
            for table in (_GREEK_LATEX, _GREEK_PLAIN):
                text = title
                for ch, spelled in table.items():
                    text = text.replace(f"${ch}$", f"${spelled}$" if table is _GREEK_LATEX else spelled)
                add("latex", text)
    return found


# -- databases ---------------------------------------------------------------------------------


def _ingest_ready() -> bool:
    try:
        from bot.ingest.formats import format_names
        return bool(format_names())
    except ImportError:
        return False


def database_for(size: int, seed: int, *, own: bool = False) -> Path:
    """A database of `size` synthetic papers plus the sample digest: the shared bench corpus
    when the parsers exist (unless `own`), else one loaded here straight through the Loader."""
    from bench.common import OUT, remove_database

    if size and _ingest_ready() and not own:
        from bench.corpus import ensure_database
        return ensure_database(size, seed)
    path = OUT / f"fuzzy-{size}-s{seed}.db"
    if not path.exists():
        building = OUT / f"building-{path.name}"
        remove_database(building)
        asyncio.run(_load_fallback(building, size, seed))
        os.replace(building, path)
    return path


async def _load_fallback(path: Path, size: int, seed: int) -> None:
    from bench.common import SAMPLE_DATE
    from bench.corpus import generate, sample_titles
    from storage.backends import open_database
    from storage.loader import Loader
    from storage.records import PaperRecord, ParsedDigest

    async with await open_database(path) as db:
        loader = Loader(db)
        batch: list[PaperRecord] = []
        day: dt.date | None = None
        for record in generate(size, seed):
            created = dt.datetime.strptime(record["versions"][0]["created"], "%a, %d %b %Y %H:%M:%S GMT").date()
            if day is not None and (created != day or len(batch) >= 5000) and batch:
                await loader.load(ParsedDigest("arxiv-synthetic", day, "arxiv-snapshot", batch, complete=False))
                batch = []
            day = created
            batch.append(PaperRecord(title=" ".join(record["title"].split()), abstract="", arxiv_id=record["id"],
                                     published=created))
        if batch and day is not None:
            await loader.load(ParsedDigest("arxiv-synthetic", day, "arxiv-snapshot", batch, complete=False))
        papers = [PaperRecord(title=t, abstract="") for t in sample_titles()]
        await loader.load(ParsedDigest("hf-daily", dt.date.fromisoformat(SAMPLE_DATE), "hf-page", papers))


# -- measuring ---------------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


@dataclass(slots=True)
class _Score:
    top1: int = 0
    top5: int = 0
    total: int = 0

    def add(self, ranked: Sequence[int], targets: set[int]) -> None:
        self.total += 1
        self.top1 += bool(ranked[:1]) and ranked[0] in targets
        self.top5 += any(r in targets for r in ranked[:5])

    def values(self) -> dict[str, Any]:
        return {"queries": self.total, "top1_%": 100.0 * self.top1 / max(self.total, 1),
                "top5_%": 100.0 * self.top5 / max(self.total, 1)}


async def _seed_rows(service: Any, seeds: Sequence[int], titles: list[str], ids: list[int],
                     targets: dict[str, set[int]]) -> list[Row]:
    """Accuracy with other noise seeds: the typos, drops and cuts fall elsewhere in each title."""
    from bench.common import Row
    from bench.corpus import sample_titles

    rows = []
    for seed in seeds:
        grown, as_cut = distinct_fragments(noisy_queries(sample_titles(), seed), titles, ids, targets)
        score, with_cut = _Score(), _Score()
        for q in grown:
            ranked = [h.paper_id for h in await service.lookup(q.query, 5)]
            score.add(ranked, targets[q.title])
            if q.kind != "fragment":
                with_cut.add(ranked, targets[q.title])
        for q, _ in as_cut:
            with_cut.add([h.paper_id for h in await service.lookup(q.query, 5)], targets[q.title])
        rows.append(Row(NAME, f"  noise seed {seed}", {
            **score.values(), "top1_% with fragments as cut": with_cut.values()["top1_%"]}))
    return rows


async def clear_snapshot(db: Database) -> None:
    """Forget the stored title index image, so that the next start-up builds from the papers."""
    await db.execute("DELETE FROM title_snapshot")


async def paper_ids_for_titles(db: Database, titles: Sequence[str]) -> dict[str, set[int]]:
    """The papers stored under each title (same normalised title): what a look-up should find."""
    import json

    from storage.normalize import title_key

    keys = {title: title_key(title) for title in titles}
    rows = await db.fetchall(
        "SELECT p.id, p.title_key FROM json_each(?) AS k JOIN papers AS p ON p.title_key = k.value",
        (json.dumps(sorted(set(keys.values()))),))
    by_key: dict[str, set[int]] = {}
    for r in rows:
        by_key.setdefault(r["title_key"], set()).add(int(r["id"]))
    return {title: by_key.get(key, set()) for title, key in keys.items()}


def index_bytes(index: TitleIndex) -> int:
    """Roughly what the title index holds: postings, titles and per-id arrays (not dict overhead).
    It reads the index's private arrays: a measurement the product never needs."""
    with index._lock:
        postings = sum(a.buffer_info()[1] * a.itemsize + 64 for a in index._postings.values())
        terms = sum(len(t) + 49 for t in index._postings) + 100 * len(index._postings)
        return (postings + terms + len(index._blob) + index._start.buffer_info()[1] * 8
                + index._length.buffer_info()[1] * 4 + index._listed.buffer_info()[1] * 4)


async def _measure(path: Path, size: int, queries: list[NoisyQuery], baseline_every: int,
                   other_seeds: Sequence[int] = ()) -> list[Row]:
    from rapidfuzz import fuzz, process, utils

    from bench.common import BenchError, Row
    from bench.corpus import sample_titles
    from bot.lookup.service import LookupService
    from storage.backends import open_database

    label = f"{size:,} distractors"
    async with await open_database(path) as db:
        # A start-up without a snapshot builds from every title (and saves one); the measured
        # start-up is the next one, as every start after the first is.
        await clear_snapshot(db)
        start = time.perf_counter()
        first = await LookupService(db).start()
        build = time.perf_counter() - start
        rss = _rss_mb()
        start = time.perf_counter()
        service = LookupService(db)
        report = await service.start()
        startup = time.perf_counter() - start
        if first.from_snapshot or not report.from_snapshot:
            raise BenchError(f"{path}: expected a build, then a start from the snapshot; got {first}, {report}")
        index_mb = index_bytes(service.sync.index) / 1e6
        rss_delta = _rss_mb() - rss
        targets = await paper_ids_for_titles(db, sample_titles())
        index = service.sync.index
        ids = list(range(1, index.last_id + 1))
        titles = [index.title(i) or "" for i in ids]
        queries, as_cut = distinct_fragments(queries, titles, ids, targets)
        ours, times = _Score(), []
        by_kind: dict[str, _Score] = {}
        ranked_ours: list[list[int]] = []
        for q in queries:
            t0 = time.perf_counter()
            hits = await service.lookup(q.query, 5)
            times.append((time.perf_counter() - t0) * 1000)
            ranked = [h.paper_id for h in hits]
            ranked_ours.append(ranked)
            ours.add(ranked, targets[q.title])
            by_kind.setdefault(q.kind, _Score()).add(ranked, targets[q.title])
        rows = [Row(NAME, f"paperboy paper, {label}", {
            **ours.values(), "p50_ms": _pct(times, 50), "p95_ms": _pct(times, 95), "startup_s": startup,
            "build_s": build, "snapshot_mb": first.saved_bytes / 1e6, "index_mb": index_mb,
            "rss_delta_mb": rss_delta})]
        rows += [Row(NAME, f"  {kind}", s.values()) for kind, s in sorted(by_kind.items())]
        # The same figures with the fragments as first cut, for comparison with earlier runs.
        cut, overall_cut = _Score(), _Score()
        for q, ranked in zip(queries, ranked_ours, strict=True):
            if q.kind != "fragment":
                overall_cut.add(ranked, targets[q.title])
        for q, _ in as_cut:
            ranked = [h.paper_id for h in await service.lookup(q.query, 5)]
            cut.add(ranked, targets[q.title])
            overall_cut.add(ranked, targets[q.title])
        rows.append(Row(NAME, "  fragment as cut (not in the overall figures)", {
            **cut.values(), "grown": f"{sum(grown for _, grown in as_cut)} shared a phrase with another title"}))
        rows.append(Row(NAME, "  overall with fragments as cut", overall_cut.values()))
        rows += await _seed_rows(service, other_seeds, titles, ids, targets)
        subset = list(range(0, len(queries), baseline_every))
        same = _Score()
        for i in subset:
            same.add(ranked_ours[i], targets[queries[i].title])
        rows.append(Row(NAME, "  paperboy paper, baseline subset", {**same.values()}))
        ours_p95 = _pct(times, 95)
        scorers: list[tuple[str, Callable[..., float]]] = [("WRatio", fuzz.WRatio),
                                                           ("token_set_ratio", fuzz.token_set_ratio)]
        for name, scorer in scorers:
            score, btimes = _Score(), []
            for i in subset:
                q = queries[i]
                t0 = time.perf_counter()
                found = process.extract(q.query, titles, scorer=scorer, processor=utils.default_process, limit=5)
                btimes.append((time.perf_counter() - t0) * 1000)
                score.add([ids[k] for _, _, k in found], targets[q.title])
            p95 = _pct(btimes, 95)
            rows.append(Row(NAME, f"  brute-force {name}, baseline subset", {
                **score.values(), "p50_ms": _pct(btimes, 50), "p95_ms": p95,
                "p95_vs_paperboy": _times_slower(p95, ours_p95)}))
        # Leave a database shared with other benches as it was (its snapshot is 100+ MB at 1M).
        await clear_snapshot(db)
        return rows


def _times_slower(theirs: float, ours: float) -> str | None:
    if not ours:
        return None
    ratio = theirs / ours
    return f"{ratio:,.0f}x slower" if ratio >= 10 else f"{ratio:.1f}x" + (" slower" if ratio > 1 else "")


def distinct_fragments(queries: list[NoisyQuery], titles: list[str], ids: list[int],
                        targets: dict[str, set[int]]) -> tuple[list[NoisyQuery], list[tuple[NoisyQuery, bool]]]:
    """The queries with each fragment grown until no other title holds it as a phrase (see the
    module docstring), and the fragments as cut, each with whether it had to grow."""
    from bot.lookup.text import plain

    lowered = [t.casefold() for t in titles]
    grown: list[NoisyQuery] = []
    as_cut: list[tuple[NoisyQuery, bool]] = []
    for q in queries:
        if q.kind != "fragment":
            grown.append(q)
            continue
        words = q.title.split()
        part = q.query.split()
        a = next(i for i in range(len(words)) if words[i:i + len(part)] == part)
        b = a + len(part)
        # Other titles holding the fragment's longest word (a cheap filter: plain() of a million
        # titles takes seconds), then those holding the whole phrase; growing only drops some.
        probe = max(q.query.casefold().split(), key=len)
        own = targets[q.title]
        others = [f" {plain(titles[k])} " for k, low in enumerate(lowered) if probe in low and ids[k] not in own]
        text = q.query
        others = [t for t in others if f" {plain(text)} " in t]
        ambiguous = bool(others)
        while others and (a > 0 or b < len(words)):
            b, a = (b + 1, a) if b < len(words) else (b, a - 1)
            text = " ".join(words[a:b])
            others = [t for t in others if f" {plain(text)} " in t]
        grown.append(NoisyQuery(q.kind, text, q.title))
        as_cut.append((q, ambiguous))
    return grown, as_cut


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000])
    parser.add_argument("--baseline-every", type=int, default=8, metavar="K",
                        help="run the brute-force baselines on every K-th query (default: %(default)s)")
    parser.add_argument("--own-db", action="store_true",
                        help="load the corpus through the Loader into bench/out/fuzzy-N.db instead of the shared "
                             "database built by `paperboy ingest`")
    parser.add_argument("--noise-seeds", default="7", metavar="S,S",
                        help="seeds of the query noise; the first gives the full rows, each other one a row of "
                             "its own accuracy (default: %(default)s)")


def run(args: argparse.Namespace) -> list[Row]:
    from bench.corpus import sample_titles

    seeds = [int(s) for s in str(getattr(args, "noise_seeds", "7")).split(",") if s.strip()] or [7]
    queries = noisy_queries(sample_titles(), seeds[0])
    rows: list[Row] = []
    for size in [0, *args.sizes]:
        path = database_for(size, args.seed, own=getattr(args, "own_db", False))
        rows += asyncio.run(_measure(path, size, queries, max(1, args.baseline_every), seeds[1:]))
    return rows


if __name__ == "__main__":
    import sys

    from bench.common import format_table

    ns = argparse.Namespace(seed=20250909, sizes=[int(s) for s in sys.argv[1:]] or [100_000],
                           baseline_every=int(os.environ.get("FUZZY_BASELINE_EVERY", "8")), own_db=True)
    print(format_table(run(ns)))
