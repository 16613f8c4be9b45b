"""Digest parsers: bytes in, `ParsedDigest`s out. One module per format, detected from content.

Each format module exposes:
    FORMAT: str                                  its name (what `--format` takes)
    def sniff(head: str) -> bool                 does the first 64 KiB (decoded) look like it?
    def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]

Parsers raise `ParseError` (never anything else on bad input) with the file, line or item and
field, and what was expected. They never touch the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from storage.errors import UnknownFormat
from storage.records import ParsedDigest

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ParseContext:
    name: str  # file name or URL, used in every error message
    today: dt.date  # "now" for inferring a year-less date (HF page text)
    date: dt.date | None = None  # --date: overrides or supplies the digest date
    source: str | None = None  # --source: overrides the source name
    announce_types: frozenset[str] = field(default_factory=lambda: frozenset({"new", "cross"}))
    chunk_size: int = 5000  # papers per batch for streaming formats


def _modules():  # type: ignore[no-untyped-def]
    # Imported lazily so that `storage.ingest` stays cheap to import.
    from storage.ingest import arxiv_atom, arxiv_rss, arxiv_snapshot, hf_api, hf_page, paperboy_jsonl

    # Order matters: the most specific sniffers first, the page text (anything textual) last.
    return [paperboy_jsonl, arxiv_snapshot, hf_api, arxiv_rss, arxiv_atom, hf_page]


def format_names() -> list[str]:
    return [m.FORMAT for m in _modules()]


def detect_format(head: bytes, name: str) -> str:
    """Name the format of content whose first bytes are `head`."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    for module in _modules():
        if module.sniff(text):
            return str(module.FORMAT)
    raise UnknownFormat(name, "not a digest in any known format (" + ", ".join(format_names()) + ")")


def parse(stream: BinaryIO, ctx: ParseContext, fmt: str | None = None) -> tuple[str, Iterator[ParsedDigest]]:
    """Detect (unless `fmt` forces one) and parse. Returns the format name and the batches.

    `stream` must be a buffered binary stream (it is peeked, not consumed, for detection).
    """
    modules = {m.FORMAT: m for m in _modules()}
    if fmt is None:
        peek = getattr(stream, "peek", None)
        head = peek(SNIFF_BYTES)[:SNIFF_BYTES] if peek else b""
        fmt = detect_format(head, ctx.name)
    if fmt not in modules:
        raise UnknownFormat(ctx.name, f"unknown format '{fmt}' (expected one of: {', '.join(modules)})")
    return fmt, modules[fmt].parse(stream, ctx)
