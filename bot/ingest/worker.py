"""The parsing process of a bulk load: it parses a large streaming file and prepares its writes
while the loading process runs SQLite, so that a load uses two cores instead of one.

A thread cannot do this: parsing is pure Python and would hold the GIL that the SQLite thread
needs between statements. `python -m bot.ingest.worker` reads a pickled `WorkerJob` on standard
input, then writes frames on standard output, each an 8-byte length and a pickled tuple:

    ("chunk", [ParsedDigest | PreparedRun, ...], bytes read, Notes)   one transaction's worth
    ("error", (class name, where, reason, line, item, field))  the input is bad; nothing follows
    ("crash", traceback text)                                   a bug; nothing follows
    ("end", None, bytes read, Notes)

Notes: what parsing cut or skipped since the previous frame (bot.ingest.formats.bounds), for the report.

Memory stays flat: the pipe (and the loader's bounded read buffer) blocks the worker once it is
a chunk or two ahead. It ignores Ctrl-C (the loader stops it) and ends by itself when the loader
goes away, at its next write (a closed pipe).
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from bot.ingest.formats import ParseContext, open_input, parse
from storage import errors
from storage.errors import InputError
from storage.loader import PreparedRun, prepare
from storage.records import ParsedDigest

_LENGTH = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class WorkerJob:
    path: str
    format: str  # already detected by the loading process
    context: ParseContext


def chunks(batches: Iterator[ParsedDigest], chunk_size: int) -> Iterator[list[ParsedDigest]]:
    """What each transaction loads: a complete digest alone; partial batches (a streaming format)
    gathered until they hold `chunk_size` papers, so an interruption keeps whole chunks."""
    chunk: list[ParsedDigest] = []
    papers = 0
    for batch in batches:
        if batch.complete:
            yield [batch]
            continue
        chunk.append(batch)
        papers += len(batch.papers)
        if papers >= chunk_size:
            yield chunk
            chunk, papers = [], 0
    if chunk:
        yield chunk


def write_frame(out: BinaryIO, frame: tuple[Any, ...]) -> None:
    data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def frame_length(header: bytes) -> int:
    return int(_LENGTH.unpack(header)[0])


def header_size() -> int:
    return _LENGTH.size


def input_error(fields: tuple[str, str, str, int | None, int | None, str | None]) -> InputError:
    """The worker's input error rebuilt in the loading process: same class, same one-line message."""
    name, where, reason, line, item, field = fields
    cls = getattr(errors, name, InputError)
    if not (isinstance(cls, type) and issubclass(cls, InputError)):
        cls = InputError
    return cls(where, reason, line=line, item=item, field=field)


def run(job: WorkerJob, out: BinaryIO) -> None:
    with open_input(job.path) as stream:
        try:
            _, batches = parse(stream, job.context, job.format)
            for chunk in chunks(batches, job.context.chunk_size):
                items: list[ParsedDigest | PreparedRun] = list(prepare(chunk))
                write_frame(out, ("chunk", items, stream.tell(), job.context.notes.drain()))
        except InputError as exc:
            write_frame(out, ("error", (type(exc).__name__, exc.where, exc.reason, exc.line, exc.item, exc.field)))
            return
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            write_frame(out, ("error", ("InputError", job.path, exc.strerror or str(exc), None, None, None)))
            return
        write_frame(out, ("end", None, stream.tell(), job.context.notes.drain()))


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the loading process decides when to stop
    out = sys.stdout.buffer
    try:
        job = pickle.load(sys.stdin.buffer)
        if not isinstance(job, WorkerJob):
            raise TypeError(f"expected a WorkerJob, got {type(job).__name__}")
        run(job, out)
    except BrokenPipeError:
        # The loader is gone: nothing to tell anyone (and nothing left to flush at exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0
    except Exception:  # noqa: BLE001 - reported to the loader, which logs it
        try:
            write_frame(out, ("crash", traceback.format_exc()))
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    # Run the imported module's code, not this __main__ copy: pickle names `bot.ingest.worker.WorkerJob`.
    from bot.ingest import worker

    sys.exit(worker.main())
