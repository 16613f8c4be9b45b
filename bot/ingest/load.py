"""Loading digests from files and URLs: parse off the event loop, load each batch in one transaction.

A large streaming file (the arXiv snapshot, Paperboy's export) is parsed, and its writes prepared,
in a separate process (bot/ingest/worker.py) a chunk or two ahead of the database writes, so a
bulk load uses both cores: a thread would hold the GIL the SQLite thread needs. Anything smaller
is parsed in a worker thread, one chunk ahead, which keeps the event loop free without paying for
a process. An input that fails leaves nothing of itself stored (a complete digest is one
transaction; a streaming file commits whole chunks, and running the command again completes it)
and does not stop the other inputs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import os
import pickle
import stat
import sys
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from bot.download.errors import DownloadError
from bot.ingest.formats import ParseContext, arxiv_snapshot, bytes_input, open_input, paperboy_jsonl, parse
from bot.ingest.worker import WorkerJob, chunks, frame_length, header_size, input_error
from storage.errors import DiskFull, InputError, StorageError
from storage.loader import Loader, PreparedRun
from storage.records import LoadResult, ParsedDigest

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes read, total bytes or 0 when unknown)
STDIN = "-"  # the input name that reads standard input
STDIN_NAME = "<stdin>"  # what messages call it


@dataclass(slots=True)
class IngestOptions:
    date: dt.date | None = None
    source: str | None = None
    format: str | None = None
    announce_types: frozenset[str] = frozenset({"new", "cross"})
    chunk_size: int = 5000
    max_download_bytes: int = 50_000_000
    public_only: bool = False  # URLs: connect to public addresses only, redirects included (chat /ingest)
    today: dt.date | None = None  # for year inference; defaults to the local date
    # A streaming file at least this big is parsed in a separate process (see the module docstring).
    worker_min_bytes: int = 16 << 20
    # Let a smaller capture of a growing day (Hugging Face) remove the papers it lacks.
    prune: bool = False


@dataclass(slots=True)
class DigestSummary:
    """What one input did to one digest (batches of a streaming input are added up)."""

    source: str
    date: dt.date
    format: str
    papers: int = 0
    new: int = 0
    merged: int = 0
    updated: int = 0
    unchanged: bool = True
    digest_id: int = 0
    kept: int = 0  # entries of a growing day this smaller capture lacked, kept
    removed: int = 0  # entries removed (a complete digest replacing its day, or --prune)


@dataclass(slots=True)
class IngestOutcome:
    input: str
    format: str | None = None
    digests: list[DigestSummary] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # text cut, values clamped, lines skipped (for the report)
    skipped: int = 0  # bad lines (or papers) of a streamed file skipped: the rest is stored

    @property
    def complete(self) -> bool:
        """Loaded without error and without skipping anything."""
        return self.error is None and not self.skipped

    @property
    def ok(self) -> bool:
        return self.error is None


class _CountingReader(io.RawIOBase):
    """Reports bytes read through a callback (for the progress bar)."""

    def __init__(self, raw: BinaryIO, total: int, progress: Progress) -> None:
        self._raw = raw
        self._total = total
        self._progress = progress
        self._read = 0

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Closes the file it counts (standard input excepted), as any reader closes its raw file."""
        if self._raw is not sys.stdin.buffer:
            self._raw.close()
        super().close()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._read += n
        self._progress(self._read, self._total)
        return n


async def _open(target: str, options: IngestOptions, progress: Progress | None) -> BinaryIO:
    if target.startswith(("http://", "https://")):
        # aiohttp is slow to import next to loading a small file: pay for it only for URLs.
        from bot.download.http import download

        return bytes_input(await download(target, max_bytes=options.max_download_bytes,
                                          public_only=options.public_only))
    if target == STDIN:
        stdin = sys.stdin.buffer
        return io.BufferedReader(_CountingReader(stdin, 0, progress), 1 << 20) if progress else stdin
    _check_regular_file(target)
    if progress is None:
        return open_input(target)
    raw = open(target, "rb", buffering=0)  # noqa: SIM115 - closed by the caller
    counted = _CountingReader(raw, os.path.getsize(target), progress)
    return io.BufferedReader(counted, buffer_size=1 << 20)


def _check_regular_file(target: str) -> None:
    """Refuse what is not a regular file, saying what it is (a directory, a FIFO would block...)."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        raise InputError(target, "no such file") from None
    if stat.S_ISREG(mode):
        return
    what = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "something else")
    raise InputError(target, f"not a regular file but {what}")


Chunk = Sequence[ParsedDigest | PreparedRun]  # what one transaction loads

# Formats that stream partial batches: the ones worth a parsing process when the file is large.
_STREAMING = frozenset({arxiv_snapshot.FORMAT, paperboy_jsonl.FORMAT})
# The loader reads ahead of the worker up to about this many bytes (a chunk or two), then the pipe
# blocks the worker: memory stays flat however large the file.
_READ_AHEAD = 16 << 20
# About the fewest bytes a snapshot or export line takes (the synthetic corpus averages ~1,900,
# real snapshot lines more): to estimate, high rather than low, how many papers a file adds.
_BYTES_PER_PAPER = 1500
_ROOT = str(Path(__file__).resolve().parents[1])  # where `bot` and `storage` live, for the worker


def _next_chunk(found: Iterator[list[ParsedDigest]]) -> list[ParsedDigest] | None:
    return next(found, None)


async def _parsed_ahead(batches: Iterator[ParsedDigest], chunk_size: int) -> AsyncGenerator[Chunk, None]:
    """Yield chunks, parsing the next one in a thread while the caller writes this one."""
    found = chunks(batches, chunk_size)
    pending = asyncio.ensure_future(asyncio.to_thread(_next_chunk, found))
    try:
        while (chunk := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(_next_chunk, found))
            yield chunk
    finally:
        if not pending.done():
            # The thread cannot be interrupted; let it finish its chunk before the stream closes.
            await asyncio.shield(asyncio.wait([pending]))


async def _parsed_apart(job: WorkerJob, progress: Progress | None) -> AsyncGenerator[Chunk, None]:
    """Yield chunks parsed and prepared by a worker process (bot/ingest/worker.py), which is
    stopped however this ends (done, bad input, an error while loading, Ctrl-C)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.ingest.worker", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env, limit=_READ_AHEAD)
    assert proc.stdin is not None and proc.stdout is not None
    total = os.path.getsize(job.path)
    try:
        proc.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        await proc.stdin.drain()
        proc.stdin.close()
        while True:
            try:
                header = await proc.stdout.readexactly(header_size())
                frame = pickle.loads(await proc.stdout.readexactly(frame_length(header)))
            except asyncio.IncompleteReadError:
                raise RuntimeError(f"the parsing process of {job.path} stopped unexpectedly"
                                   f" (exit status {await proc.wait()})") from None
            kind = frame[0]
            if kind == "error":
                raise input_error(frame[1])
            if kind == "crash":
                log.error("the parsing process of %s failed:\n%s", job.path, frame[1])
                raise RuntimeError(f"the parsing process of {job.path} failed")  # traceback logged above
            job.context.notes.absorb(frame[3])
            if progress is not None:
                progress(frame[2], total)
            if kind == "end":
                return
            yield frame[1]
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def _apart(target: str, fmt: str, options: IngestOptions) -> bool:
    """Whether to parse `target` in a worker process: a large local file in a streaming format."""
    return (fmt in _STREAMING and target != STDIN and not target.startswith(("http://", "https://"))
            and os.path.getsize(target) >= options.worker_min_bytes)


async def ingest(loader: Loader, target: str, options: IngestOptions, progress: Progress | None = None, *,
                 on_loaded: Callable[[int], None] | None = None,
                 on_phase: Callable[[str], None] | None = None) -> IngestOutcome:
    """Load every digest in one file or URL ("-": standard input). Never raises for bad input: see
    `outcome.error`. `on_loaded(papers)` after each batch; `on_phase(what)` when a long end phase
    starts."""
    outcome = IngestOutcome(input=STDIN_NAME if target == STDIN else target)
    ctx = ParseContext(
        name=outcome.input, today=options.today or dt.date.today(),
        date=options.date, source=options.source,
        announce_types=options.announce_types, chunk_size=options.chunk_size,
    )
    summaries: dict[tuple[str, dt.date], DigestSummary] = {}
    stream: BinaryIO | None = None
    try:
        stream = await _open(target, options, progress)
        outcome.format, batches = parse(stream, ctx, options.format)
        bulk: AbstractAsyncContextManager[None] = nullcontext()
        if _apart(target, outcome.format, options):
            stream.close()  # it only served to detect the format: the worker reads the file
            found = _parsed_apart(WorkerJob(target, outcome.format, ctx), progress)
            bulk = loader.bulk(os.path.getsize(target) // _BYTES_PER_PAPER)
        else:
            found = _parsed_ahead(batches, ctx.chunk_size)
        streamed = outcome.format in _STREAMING
        if streamed:  # statistics left stale (by an interrupted load) would make every chunk crawl
            await loader.refresh_statistics()
        async with bulk, aclosing(found), aclosing(loader.load_chunks(found, prune=options.prune)) as loaded:
            async for results in loaded:
                for result in results:
                    _add(summaries, result)
                    if on_loaded is not None:
                        on_loaded(result.papers)
            if on_phase is not None and not isinstance(bulk, nullcontext):
                on_phase("rebuilding the title index")
        if streamed:  # for the next load and for searches: the archive may have grown many times
            await loader.refresh_statistics()
    except (InputError, DownloadError) as exc:
        outcome.error = str(exc)
    except OSError as exc:
        outcome.error = f"{target}: {exc.strerror or exc}"
    except DiskFull as exc:
        # The failed chunk was rolled back, but a streamed file's earlier chunks stay committed.
        raise DiskFull(_disk_full(outcome.input, summaries)) from exc
    except StorageError:
        raise  # the database itself (locked, full, too new): not this input's fault, the command stops
    except Exception as exc:  # noqa: BLE001 - a bug on one input must not stop the others
        log.exception("loading %s failed", target)
        outcome.error = f"{target}: could not be loaded: an unexpected {exc.__class__.__name__} (details in the log)"
    finally:
        if stream is not None:
            stream.close()
    outcome.digests = list(summaries.values())
    outcome.notes = ctx.notes.report()
    outcome.skipped = ctx.notes.skipped
    return outcome


def _disk_full(name: str, committed: dict[tuple[str, dt.date], DigestSummary]) -> str:
    """What a full disk left of input `name`: what it committed before, or that it wrote nothing."""
    if not committed:
        return f"the disk is full: nothing of {name} was written; free some space and load it again"
    papers = sum(s.papers for s in committed.values())
    return (f"the disk is full: {papers:,} papers in {len(committed):,} digests of {name} were committed before it "
            "filled, the rest was not written; free some space and run the same command again to complete it")


def _add(summaries: dict[tuple[str, dt.date], DigestSummary], result: LoadResult) -> None:
    key = (result.source, result.date)
    s = summaries.setdefault(key, DigestSummary(result.source, result.date, result.format,
                                                digest_id=result.digest_id))
    s.papers += result.papers
    s.new += result.new
    s.merged += result.merged
    s.updated += result.updated
    s.unchanged = s.unchanged and result.unchanged
    s.kept += result.kept
    s.removed += result.removed
