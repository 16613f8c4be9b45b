"""Digest parsers: bytes in, `ParsedDigest`s out. One module per format, detected from content.

Each format module exposes:
    FORMAT: str                                  its name (what `--format` takes)
    def sniff(head: str) -> bool                 does the first 64 KiB (decoded) look like it?
    def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]

Parsers raise `ParseError` (never anything else on bad input) with the file, line or item and
field, and what was expected. `parse` holds what they yield to the limits of `bounds` (what one
paper may cost, which dates a digest may have) and notes what it cut in `ctx.notes`.
They never touch the database. Errors surface while the batches are iterated (the parsers are
generators), except for detection, which raises from `parse`.

Opening inputs: `open_input(path)` for a file and `bytes_input(data)` for a downloaded body give
buffered streams whose `peek()` returns the whole sniffing window.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import BinaryIO, cast

from bot.ingest.formats.bounds import Notes, bounded
from storage.errors import ParseError, UnknownFormat
from storage.records import ParsedDigest

SNIFF_BYTES = 64 * 1024
READ_BUFFER = 1 << 20  # >= SNIFF_BYTES, so that peek() sees the whole sniffing window

__all__ = [
    "SNIFF_BYTES", "ParseContext", "bytes_input", "detect_format", "format_names", "open_input", "parse",
]


@dataclass(frozen=True, slots=True)
class ParseContext:
    name: str  # file name or URL, used in every error message
    today: dt.date  # "now" for inferring a year-less date (HF page text)
    date: dt.date | None = None  # --date: overrides or supplies the digest date
    source: str | None = None  # --source: overrides the source name
    announce_types: frozenset[str] = field(default_factory=lambda: frozenset({"new", "cross"}))
    chunk_size: int = 5000  # papers per batch for streaming formats
    # A fetched page's size (hf-api): a body listing more items than were asked for is refused
    # before they are read, as a server that ignores the page size could send any number.
    max_items: int | None = None
    # What parsing cut, clamped or skipped (bot.ingest.formats.bounds), for the ingest report. Filled as
    # the batches are iterated; a worker process sends its own back (bot/ingest/worker.py).
    notes: Notes = field(default_factory=Notes, compare=False)


def _modules() -> list[ModuleType]:
    # Imported lazily so that `bot.ingest.formats` stays cheap to import.
    from bot.ingest.formats import arxiv_atom, arxiv_rss, arxiv_snapshot, hf_api, hf_page, paperboy_jsonl

    # Order matters: the most specific sniffers first, the page text (anything textual) last.
    return [paperboy_jsonl, arxiv_snapshot, hf_api, arxiv_rss, arxiv_atom, hf_page]


def format_names() -> list[str]:
    return [str(m.FORMAT) for m in _modules()]


def open_input(path: str) -> BinaryIO:
    """Open a file for `parse`: binary, buffered so that `peek()` returns the sniffing window."""
    return open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115 - the caller closes it


def bytes_input(data: bytes) -> BinaryIO:
    """A body already in memory (a download) as a stream for `parse`."""
    return cast(BinaryIO, io.BufferedReader(io.BytesIO(data), buffer_size=max(READ_BUFFER, SNIFF_BYTES)))


_COMPRESSED = {
    b"\x1f\x8b": "gzip-compressed",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
}


def _decode_head(head: bytes, name: str) -> str:
    """The sniffing window as text; refuses empty, binary and non-UTF-8 content with a clear message."""
    if not head.strip():
        raise ParseError(name, "empty file" if not head else "empty file (only white space)")
    for magic, what in _COMPRESSED.items():
        if head.startswith(magic):
            raise UnknownFormat(name, f"{what} data, not a text digest: decompress it first")
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        raise UnknownFormat(name, "UTF-32 text: save the digest as UTF-8")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnknownFormat(name, "UTF-16 text: save the digest as UTF-8")
    if b"\x00" in head:
        raise UnknownFormat(name, "binary data, not a text digest")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or exc.reason != "unexpected end of data":
            raise ParseError(name, "not UTF-8 text", line=head.count(b"\n", 0, exc.start) + 1) from None
        text = head[: exc.start].decode("utf-8")  # a character cut off at the end of the window
    return text.lstrip("\ufeff")


def _looks_like_html(text: str) -> bool:
    start = text.lstrip()[:200].lower()
    return start.startswith(("<!doctype html", "<html")) or ("<html" in start and "<head" in text[:4096].lower())


def detect_format(head: bytes, name: str) -> str:
    """Name the format of content whose first bytes are `head`."""
    text = _decode_head(head, name)
    for module in _modules():
        if module.sniff(text):
            return str(module.FORMAT)
    if _looks_like_html(text):
        raise UnknownFormat(name, "an HTML page, not a digest: save the page's text (select all, copy) "
                                  "or use the JSON API")
    raise UnknownFormat(name, "not a digest in any known format (" + ", ".join(format_names()) + ")")


class _ReadIntoAdapter(io.RawIOBase):
    """Lets a stream without `peek` sit under a BufferedReader."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n


def parse(stream: BinaryIO, ctx: ParseContext, fmt: str | None = None) -> tuple[str, Iterator[ParsedDigest]]:
    """Detect (unless `fmt` forces one) and parse. Returns the format name and the batches.

    `stream` should be a buffered binary stream (see `open_input`, `bytes_input`): it is peeked,
    not consumed, for detection. A stream without `peek` is wrapped in a buffer.
    """
    modules = {str(m.FORMAT): m for m in _modules()}
    if fmt is not None and fmt not in modules:
        raise UnknownFormat(ctx.name, f"unknown format '{fmt}' (expected one of: {', '.join(modules)})")
    if fmt is None:
        if getattr(stream, "peek", None) is None:
            stream = cast(BinaryIO, io.BufferedReader(_ReadIntoAdapter(stream), buffer_size=READ_BUFFER))
        head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
        fmt = detect_format(head, ctx.name)
    batches: Iterator[ParsedDigest] = modules[fmt].parse(stream, ctx)
    return fmt, bounded(batches, ctx.name, ctx.today, ctx.notes)
