"""/digest of one very large digest: composing its summary off the event loop, then paging from the cache.

A digest of 10k-100k papers (a hostile feed, a mistaken import) is built from the synthetic
corpus's text (`bench.corpus.generate`: one `hf-daily` digest of 2025-09-09, upvotes 0-49) into
bench/out/digest-N-sS.db, once. Each size is then measured in its own child process
(`python -m bench.digest DB`), so the peak RSS is the compose's alone:

- compose: wall and CPU seconds of `SummaryCache.get` as /digest's first page calls it;
- longest loop stall: the longest a 1 ms ticker on the event loop waited meanwhile, which is
  how long every other command would have waited (the compose runs in worker threads);
- page press: a second `SummaryCache.get` for the same digest (the full-list button), served from
  the cache; "composes for 2 presses" counts the composes behind both;
- baseline: theme assignment as it was before issue #21 (a membership test on each theme's
  tuple of papers, quadratic in the digest's size), timed alone on the same themes beside the
  assignment now (`themes.assign`), up to --baseline-up-to papers.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import time
from pathlib import Path

from bench.common import OUT, PYTHON, Machine, Row, check, remove_database, run_child
from bench.corpus import generate
from bot.summary import Summary, compose, themes
from bot.summary.cache import SummaryCache
from storage import digests as digest_repo
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.records import DigestInfo, PaperRecord, ParsedDigest

NAME = "digest"
DESCRIPTION = "/digest of one digest of 10k-100k papers: compose time, event-loop stall, memory, page presses"
DAY = dt.date(2025, 9, 9)
TICK = 0.001


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[10_000, 30_000, 100_000])
    parser.add_argument("--baseline-up-to", type=int, default=30_000, metavar="N",
                        help="time the quadratic assignment up to this many papers (default: %(default)s)")


def _records(size: int, seed: int) -> list[PaperRecord]:
    return [PaperRecord(title=" ".join(r["title"].split()), abstract=" ".join(r["abstract"].split()),
                        arxiv_id=r["id"], upvotes=i % 50) for i, r in enumerate(generate(size, seed))]


async def _build(path: Path, size: int, seed: int) -> None:
    partial = path.with_name(path.name + ".partial")
    remove_database(partial)
    db = await open_database(partial)
    try:
        await Loader(db).load(ParsedDigest("hf-daily", DAY, "hf-api", _records(size, seed)))
    finally:
        await db.close()
    partial.rename(path)


def _database(size: int, seed: int) -> Path:
    path = OUT / f"digest-{size}-s{seed}.db"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        asyncio.run(_build(path, size, seed))
    return path


def _old_assign(found: list[themes.Theme], paper_ids: list[int]) -> dict[int, int | None]:
    """Theme assignment before issue #21, kept as the baseline."""
    return {pid: next((i for i, t in enumerate(found) if pid in t.paper_ids), None) for pid in paper_ids}


async def _stall_while(work: asyncio.Future[Summary]) -> float:
    """The longest gap between ticks of a 1 ms ticker while `work` runs."""
    longest, last = 0.0, time.perf_counter()
    while not work.done():
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        longest, last = max(longest, now - last - TICK), now
    return longest


async def _measure(path: Path, baseline: bool) -> dict[str, float | int | None]:
    db = await open_database(path)
    composes = 0

    async def counted(db: Database, digest: DigestInfo) -> Summary:
        nonlocal composes
        composes += 1
        return await compose(db, digest)

    try:
        digest = await digest_repo.find_digest(db, source="hf-daily", date=DAY)
        assert digest is not None, f"{path} lacks its digest"
        cache = SummaryCache(composer=counted)
        start, cpu = time.perf_counter(), time.process_time()
        work = asyncio.ensure_future(cache.get(db, digest))
        stall = await _stall_while(work)
        summary = await work
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        await cache.get(db, digest)
        press = time.perf_counter() - start
        ids = [item.paper_id for group in summary.groups for item in group.papers]
        start = time.perf_counter()
        now = themes.assign(list(summary.themes), ids)
        assign_now = time.perf_counter() - start
        old = None
        if baseline:
            start = time.perf_counter()
            assert _old_assign(list(summary.themes), ids) == now
            old = time.perf_counter() - start
    finally:
        await db.close()
    return {"papers": summary.papers, "themes": len(summary.themes), "seconds": seconds, "cpu": cpu_seconds,
            "stall": stall, "press": press, "composes": composes, "assign": assign_now, "old_assign": old}


def run(args: argparse.Namespace) -> list[Row]:
    rows = []
    for size in args.sizes:
        path = _database(size, args.seed)
        machine = Machine()
        argv = [PYTHON, "-m", "bench.digest", str(path)] + (["--baseline"] if size <= args.baseline_up_to else [])
        child = check(run_child(argv), f"bench.digest {path.name}")
        got = json.loads(child.stdout)
        rows.append(Row(NAME, f"{size:,} papers in one digest", {
            "compose s": round(got["seconds"], 2), "CPU s": round(got["cpu"], 2),
            "longest loop stall ms": round(got["stall"] * 1000, 1), "page press ms": round(got["press"] * 1000, 1),
            "composes for 2 presses": got["composes"], "peak RSS MB": round(child.peak_rss_mb),
            "assign ms": round(got["assign"] * 1000, 1),
            "before #21: assign ms": None if got["old_assign"] is None else round(got["old_assign"] * 1000, 1),
            "themes": got["themes"], **machine.values(children_cpu=child.cpu_seconds)}))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.digest", description="measure one digest database")
    parser.add_argument("db", type=Path)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_measure(args.db, args.baseline))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
