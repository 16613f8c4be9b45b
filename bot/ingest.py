"""Loading digests from files and URLs: parse off the event loop, load each batch in one transaction.

Parsing runs in a worker thread, one batch ahead of the database writes, so a large file keeps
both cores busy and the event loop free. An input that fails leaves nothing of itself stored
(a complete digest is one transaction; a streaming file commits whole chunks, and running the
command again completes it) and does not stop the other inputs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from storage.errors import InputError
from storage.ingest import ParseContext, bytes_input, open_input, parse
from storage.loader import Loader
from storage.records import LoadResult, ParsedDigest

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes read, total bytes or 0 when unknown)


@dataclass(slots=True)
class IngestOptions:
    date: dt.date | None = None
    source: str | None = None
    format: str | None = None
    announce_types: frozenset[str] = frozenset({"new", "cross"})
    chunk_size: int = 5000
    max_download_bytes: int = 50_000_000
    today: dt.date | None = None  # for year inference; defaults to the local date


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


@dataclass(slots=True)
class IngestOutcome:
    input: str
    format: str | None = None
    digests: list[DigestSummary] = field(default_factory=list)
    error: str | None = None

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

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._read += n
        self._progress(self._read, self._total)
        return n


async def _open(target: str, options: IngestOptions, progress: Progress | None) -> BinaryIO:
    if target.startswith(("http://", "https://")):
        # aiohttp takes ~0.1 s to import, a quarter of loading a file: pay for it only for URLs.
        from bot.sources.http import download

        return bytes_input(await download(target, max_bytes=options.max_download_bytes))
    if not os.path.isfile(target):
        raise InputError(target, "no such file")
    if progress is None:
        return open_input(target)
    raw = open(target, "rb", buffering=0)  # noqa: SIM115 - closed by the caller
    counted = _CountingReader(raw, os.path.getsize(target), progress)
    return io.BufferedReader(counted, buffer_size=1 << 20)


def _input_errors() -> tuple[type[Exception], ...]:
    """What a bad input raises: DownloadError only exists once a URL made us import the client."""
    http = sys.modules.get("bot.sources.http")
    return (InputError, http.DownloadError) if http is not None else (InputError,)


def _next_batch(batches: Iterator[ParsedDigest]) -> ParsedDigest | None:
    return next(batches, None)


async def _parsed_ahead(batches: Iterator[ParsedDigest]) -> AsyncIterator[ParsedDigest]:
    """Yield batches, parsing the next one in a thread while the caller writes this one."""
    pending = asyncio.ensure_future(asyncio.to_thread(_next_batch, batches))
    try:
        while (batch := await pending) is not None:
            pending = asyncio.ensure_future(asyncio.to_thread(_next_batch, batches))
            yield batch
    finally:
        if not pending.done():
            # The thread cannot be interrupted; let it finish its batch before the stream closes.
            await asyncio.shield(asyncio.wait([pending]))


async def ingest(loader: Loader, target: str, options: IngestOptions,
                 progress: Progress | None = None) -> IngestOutcome:
    """Load every digest in one file or URL. Never raises for bad input: see `outcome.error`."""
    outcome = IngestOutcome(input=target)
    ctx = ParseContext(
        name=target, today=options.today or dt.date.today(), date=options.date, source=options.source,
        announce_types=options.announce_types, chunk_size=options.chunk_size,
    )
    summaries: dict[tuple[str, dt.date], DigestSummary] = {}
    stream: BinaryIO | None = None

    async def flush(group: list[ParsedDigest]) -> None:
        if group:
            for result in await loader.load_many(group):
                _add(summaries, result)
            group.clear()

    try:
        stream = await _open(target, options, progress)
        outcome.format, batches = parse(stream, ctx, options.format)
        chunk: list[ParsedDigest] = []  # partial batches of a streaming format, one transaction
        async for batch in _parsed_ahead(batches):
            if batch.complete:
                await flush([batch])
                continue
            chunk.append(batch)
            if sum(len(b.papers) for b in chunk) >= options.chunk_size:
                await flush(chunk)
        await flush(chunk)
    except _input_errors() as exc:
        outcome.error = str(exc)
    except OSError as exc:
        outcome.error = f"{target}: {exc.strerror or exc}"
    finally:
        if stream is not None:
            stream.close()
    outcome.digests = list(summaries.values())
    return outcome


def _add(summaries: dict[tuple[str, dt.date], DigestSummary], result: LoadResult) -> None:
    key = (result.source, result.date)
    s = summaries.setdefault(key, DigestSummary(result.source, result.date, result.format,
                                                digest_id=result.digest_id))
    s.papers += result.papers
    s.new += result.new
    s.merged += result.merged
    s.updated += result.updated
    s.unchanged = s.unchanged and result.unchanged
