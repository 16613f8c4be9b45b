"""The web archive's page latency against a running server, beside a static file it serves.

For each corpus size the database of `bench.corpus.ensure_database(size)` (built by the real
`paperboy ingest`, with the 144-paper sample digest of 2025-09-09) is copied, and `paperboy web
--port 0` serves the copy in its own process, as in production. The bench is the client:

- one client, REPEAT rounds of each page kind: home (`/`), the sample digest's page, a paper page
  (a different paper each request; when the page came without its close matches, the address its
  script then fetches them from is asked for too, in a row of its own), a search page (a query
  mix of bench.search's kinds, repeated: after the first round the page cache answers), and the
  same searches each at an address of its own (the page cache never has them: what a search
  costs); p50/p95 per kind, the first request of each kind (cold: compose, page cache) apart;
- the baseline, same server same run: `/static/style.css`, which runs no Paperboy code;
- a load generator: CONCURRENCY clients (default 50, then 200) sharing out REQUESTS requests, a
  quarter of each page kind (papers no earlier run asked for), and a tenth as many of the static
  file; a client given a paper page that deferred its close matches asks for them next, as a
  browser running the page's script would (`close deferred`, `close p95 ms`); p50/p95 per page
  and p95 per kind, errors (any status but 200, or a failed connection), requests/s, with the
  static file's p95 under the same load beside it. An unmeasured load of a quarter as many
  requests (10 clients) goes first, so that the server's start-up work has run out. A load is
  3,000 requests by default: its clients all start at once, and the queue of that first burst
  drains over the first few hundred requests; in a load of 1,000 (under two seconds) the burst
  was most of the slowest 5% of each page kind (paper pages' p95 27-53 ms in loads of 1,000,
  18-38 ms in loads of 3,000, the same code), so a short load measured its start more than the
  server's pace.

The server's CPU is read from /proc before and after, so CPU per page is shown beside wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

import aiohttp

from bench.common import OUT, PYTHON, REPO, BenchError, Machine, Row, remove_database
from bench.corpus import ensure_database

NAME = "web"
DESCRIPTION = "web archive page latency (home, digest, paper, search) at 1 and N clients vs a static file"
TARGET_P95_MS = 50.0
WARM_UP_CLIENTS = 10  # an unmeasured load first, of a WARM_UP_SHARE-th of --requests
WARM_UP_SHARE = 4
_CLOSE = re.compile(rb'data-close="([^"]+)"')
SEARCHES = ["diffusion", "language models", '"large language models"', "model -diffusion", "quantiz*",
            "title:diffusion", "transformer OR attention", "hyperpriors", "zzqxj"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(sizes=[100_000])
    parser.add_argument("--repeat", type=int, default=30, help="requests of each page kind, one client")
    parser.add_argument("--concurrency", default="50,200", help="clients of the load runs (default: %(default)s)")
    parser.add_argument("--requests", type=int, default=3000, help="requests in each load run (default: %(default)s)")
    parser.add_argument("--db", type=Path, help="serve this database (a copy of it) instead of the corpus one")
    parser.add_argument("--no-script", action="store_true",
                        help="load clients that run no page script: deferred close matches are not asked for")


def _percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))] if ordered else 0.0


def _paper_refs(path: Path, n: int, seed: int) -> list[str]:
    """Papers' page addresses (their arXiv id, else id:N), `n` of them at random."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = [r[0] for r in conn.execute("SELECT COALESCE(arxiv_id, 'id:' || id) FROM papers"
                                           " ORDER BY random() LIMIT ?", (n,))]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """`paperboy web --port 0` on a copy of the database, in its own process."""

    def __init__(self, source: Path) -> None:
        OUT.mkdir(parents=True, exist_ok=True)
        self.db = OUT / f"web-bench-{os.getpid()}.db"
        remove_database(self.db)
        shutil.copy(source, self.db)
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""

    async def __aenter__(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_")}
        env.update(PYTHONPATH=str(REPO), PAPERBOY_LOGGING_FILE=str(OUT / "web-bench.log"))
        self.process = await asyncio.create_subprocess_exec(
            PYTHON, "-m", "bot", "--db", str(self.db), "web", "--port", "0", cwd=REPO, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert self.process.stdout is not None
        line = (await asyncio.wait_for(self.process.stdout.readline(), timeout=600)).decode()
        if " at " not in line:
            err = (await self.process.stderr.read()).decode() if self.process.stderr else ""
            raise BenchError(f"paperboy web did not start: {line}{err}")
        self.url = line.split(" at ", 1)[1].split("/ ", 1)[0]
        return self

    @property
    def cpu(self) -> float:
        assert self.process is not None
        return _cpu_seconds(self.process.pid)

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.communicate(), timeout=30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        remove_database(self.db)


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[float, bool, bytes]:
    started = time.perf_counter()
    body = b""
    try:
        async with session.get(url) as response:
            body = await response.read()
            ok = response.status == 200
    except aiohttp.ClientError:
        ok = False
    return time.perf_counter() - started, ok, body


def _deferred(body: bytes) -> str | None:
    """The close matches' address a paper page's script fetches (bot/lookup/close.py), when the
    page came without them."""
    found = _CLOSE.search(body)
    return found.group(1).decode() if found else None


def _paths(kind: str, n: int, ids: list[str]) -> list[str]:
    if kind == "home":
        return ["/"] * n
    if kind == "digest":
        return ["/digests/2025-09-09?source=hf-daily"] * n
    if kind == "paper":
        return [f"/papers/{ids[i % len(ids)]}" for i in range(n)]
    if kind == "search":
        return [f"/search?q={quote(SEARCHES[i % len(SEARCHES)])}" for i in range(n)]
    if kind == "search, uncached":  # an address of its own each time: the page cache never has it
        return [f"/search?q={quote(SEARCHES[i % len(SEARCHES)])}&bench={i}" for i in range(n)]
    return ["/static/style.css"] * n


KINDS = ("home", "digest", "paper", "search")


async def _measure(path: Path, size: int, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    ids = _paper_refs(path, 1000 + 3 * args.requests * 4, args.seed)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        size = int(conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
    machine = Machine()
    async with Server(path) as server:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            for kind in (*KINDS, "search, uncached", "static file"):
                paths = _paths(kind, args.repeat + 1, ids)
                cold, ok, _ = await _get(session, server.url + paths[0])
                if not ok:
                    raise BenchError(f"{kind}: {paths[0]} did not answer 200")
                cpu = server.cpu
                times = []
                deferred = []
                for p in paths[1:]:
                    seconds, ok, body = await _get(session, server.url + p)
                    if not ok:
                        raise BenchError(f"{kind}: {p} did not answer 200")
                    times.append(seconds)
                    if (close := _deferred(body)) is not None:
                        deferred.append(close)
                cpu = (server.cpu - cpu) / len(times)
                p95 = _percentile(times, 95) * 1000
                rows.append(Row(NAME, f"{size:,} {kind}, 1 client", {
                    "requests": len(times), "p50 ms": statistics.median(times) * 1000, "p95 ms": p95,
                    "server CPU ms": cpu * 1000, "cold ms": cold * 1000, "errors": 0,
                    "close deferred": len(deferred) if kind == "paper" else None,
                    f"p95 <= {TARGET_P95_MS:.0f} ms": p95 <= TARGET_P95_MS if kind != "static file" else None}))
                if deferred:  # what the page's script then asks for: the close matches, found on asking
                    rows.append(await _close_row(session, server, size, deferred))
            loads = [int(c) for c in args.concurrency.split(",") if c.strip()]
            for run, clients in enumerate([WARM_UP_CLIENTS, *loads]):
                # Papers no earlier run asked for: a paper page is never answered from the page cache.
                fresh = ids[1000 + run * args.requests:] or ids
                queue = [(p, kind) for kind in KINDS for p in _paths(kind, args.requests // len(KINDS), fresh)]
                queue += [(p, "static") for p in _paths("static", max(args.requests // 10, 1), ids)]
                random.Random(args.seed + 1).shuffle(queue)
                if run == 0:
                    # Not measured: the server's start-up work (close matches found ahead for the
                    # latest digest, the summaries of its pages) runs out before the load is timed.
                    # A first load overlapping it measured the home page's p95 at 61 ms, the next
                    # two at 24 and 11 ms, with the same code.
                    await _load(session, server.url, queue[:args.requests // WARM_UP_SHARE], clients,
                                script=not args.no_script)
                    continue
                cpu = server.cpu
                started = time.perf_counter()
                results, errors = await _load(session, server.url, queue, clients, script=not args.no_script)
                wall = time.perf_counter() - started
                pages = [t for kind in KINDS for t in results[kind]]
                statics, close = results["static"], results["close"]
                asked = len(pages) + len(statics) + len(close)
                rows.append(Row(NAME, f"{size:,} page mix, {clients} clients", {
                    "requests": asked, "p50 ms": statistics.median(pages) * 1000,
                    "p95 ms": _percentile(pages, 95) * 1000,
                    **{f"{kind} p95 ms": _percentile(results[kind], 95) * 1000 for kind in KINDS},
                    "close deferred": len(close), "close p95 ms": _percentile(close, 95) * 1000 if close else None,
                    "server CPU ms": (server.cpu - cpu) / asked * 1000,
                    "static p95 ms": _percentile(statics, 95) * 1000, "errors": errors,
                    "requests/s": asked / wall}))
    for row in rows:
        row.values.update(machine.values())
    return rows


async def _load(session: aiohttp.ClientSession, base: str, queue: list[tuple[str, str]],
                clients: int, *, script: bool = True) -> tuple[dict[str, list[float]], int]:
    """`clients` clients sharing out `queue`, each sending its next request when the last answered
    (`script`: and asking for a paper page's deferred close matches after it, as its script does)."""
    results: dict[str, list[float]] = {kind: [] for kind in (*KINDS, "static", "close")}
    errors = 0

    async def client(work: list[tuple[str, str]]) -> None:
        nonlocal errors
        for path, what in work:
            seconds, ok, body = await _get(session, base + path)
            results[what].append(seconds)
            errors += 0 if ok else 1
            if script and (close := _deferred(body)) is not None:  # as a browser runs the page's script
                seconds, ok, _ = await _get(session, base + close)
                results["close"].append(seconds)
                errors += 0 if ok else 1

    await asyncio.gather(*(client(queue[i::clients]) for i in range(clients)))
    return results, errors


async def _close_row(session: aiohttp.ClientSession, server: Server, size: int, addresses: list[str]) -> Row:
    """The close matches the paper pages deferred, as their script asks for them: found on asking."""
    cpu = server.cpu
    times = []
    for address in addresses:
        seconds, ok, _ = await _get(session, server.url + address)
        if not ok:
            raise BenchError(f"close matches: {address} did not answer 200")
        times.append(seconds)
    return Row(NAME, f"{size:,} close matches (the paper page's script), 1 client", {
        "requests": len(times), "p50 ms": statistics.median(times) * 1000, "p95 ms": _percentile(times, 95) * 1000,
        "server CPU ms": (server.cpu - cpu) / len(times) * 1000, "errors": 0})


def _database(size: int, seed: int) -> Path:
    path = ensure_database(size, seed)
    if not path.exists():
        raise BenchError(f"no database for {size:,} papers")
    return path


def run(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    for size in args.sizes:
        rows += asyncio.run(_measure(args.db or _database(size, args.seed), size, args))
        if args.db is not None:
            break
    return rows


if __name__ == "__main__":
    print("run it as: python -m bench web", file=sys.stderr)
