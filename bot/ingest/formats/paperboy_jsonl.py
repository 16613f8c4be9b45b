"""Paperboy's own export (`paperboy export`): one JSON object a line.

    {"paperboy_export": 1, "arxiv_id": "2306.07629" | null, "title": ..., "abstract": ...,
     "authors": [...], "links": {...}, "categories": [...], "keywords": [...], "ai_summary": ... | null,
     "published": "YYYY-MM-DD" | null,
     "listings": [{"source", "date", "format", "position", "upvotes", "comments"}, ...]}

Streamed like the snapshot: partial batches of about `ctx.chunk_size` lines, one per
(source, date, format) in the chunk, each entry with the listing's position, upvotes and comments.
A paper without listings is filed under `paperboy-export` (or --source) on its published date
(or --date). The listings' own sources are kept: --source does not rename them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, BinaryIO

from bot.ingest.formats._common import clean, fail, first_json_object, int_or_none, json_records, json_type, str_list
from storage.normalize import parse_arxiv_id
from storage.records import PaperRecord, ParsedDigest

if TYPE_CHECKING:
    from bot.ingest.formats import ParseContext

FORMAT = "paperboy-jsonl"
DEFAULT_SOURCE = "paperboy-export"
VERSION = 1  # the newest export version this parser reads

_Key = tuple[str, dt.date, str]


def sniff(head: str) -> bool:
    obj = first_json_object(head)
    if obj is None:
        line = head.lstrip()[:65536]
        return line.startswith("{") and '"paperboy_export"' in line.split("\n", 1)[0]
    return "paperboy_export" in obj


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]:
    chunk_size = max(1, ctx.chunk_size)
    groups: dict[_Key, list[PaperRecord]] = {}
    pending = 0
    name = ctx.name
    for entries in json_records(stream, name, ctx.notes, lambda obj, lineno: _entries(obj, lineno, ctx)):
        for key, record in entries:
            groups.setdefault(key, []).append(record)
        pending += 1
        if pending >= chunk_size:
            yield from _batches(groups)
            groups = {}
            pending = 0
    yield from _batches(groups)


def _batches(groups: dict[_Key, list[PaperRecord]]) -> Iterator[ParsedDigest]:
    for (source, day, fmt), papers in groups.items():
        yield ParsedDigest(source=source, date=day, format=fmt, papers=papers, complete=False)


def _date(value: object, lineno: int, name: str, field: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    fail(name, f"expected a date like 2024-07-09, found {json_type(value)}", line=lineno, field=field)


def _entries(obj: dict[str, Any], lineno: int, ctx: ParseContext) -> list[tuple[_Key, PaperRecord]]:
    name = ctx.name
    version = obj.get("paperboy_export")
    if isinstance(version, bool) or not isinstance(version, int):
        fail(name, "expected a Paperboy export line (\"paperboy_export\": 1)", line=lineno, field="paperboy_export")
    if version > VERSION:
        fail(name, f"written by a newer Paperboy (export version {version}, this one reads {VERSION}); "
                   "upgrade Paperboy", line=lineno, field="paperboy_export")

    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        fail(name, "expected the paper's title (a non-empty string)", line=lineno, field="title")
    abstract = obj.get("abstract", "")
    if abstract is None:
        abstract = ""
    if not isinstance(abstract, str):
        fail(name, f"expected a string, found {json_type(abstract)}", line=lineno, field="abstract")
    raw_id = obj.get("arxiv_id")
    arxiv_id = None
    if raw_id is not None:
        arxiv_id = parse_arxiv_id(raw_id) if isinstance(raw_id, str) else None
        if arxiv_id is None:
            fail(name, "expected an arXiv id or null", line=lineno, field="arxiv_id")
    raw_links = obj.get("links")
    if raw_links is not None and not isinstance(raw_links, dict):
        fail(name, f"expected an object, found {json_type(raw_links)}", line=lineno, field="links")
    links = {str(k): v for k, v in (raw_links or {}).items() if isinstance(v, str) and v}
    summary = obj.get("ai_summary")
    published = _date(obj.get("published"), lineno, name, "published")
    base = PaperRecord(
        title=clean(title), abstract=clean(abstract), arxiv_id=arxiv_id,
        authors=str_list(obj.get("authors")), links=links, categories=str_list(obj.get("categories")),
        keywords=str_list(obj.get("keywords")),
        ai_summary=clean(summary) if isinstance(summary, str) and summary.strip() else None,
        published=published, position=lineno,
    )

    listings = obj.get("listings")
    if listings is not None and not isinstance(listings, list):
        fail(name, f"expected a list, found {json_type(listings)}", line=lineno, field="listings")
    out: list[tuple[_Key, PaperRecord]] = []
    for listing in listings or []:
        if not isinstance(listing, dict):
            fail(name, f"expected a listing object, found {json_type(listing)}", line=lineno, field="listings")
        source = listing.get("source")
        fmt = listing.get("format")
        if not isinstance(source, str) or not source.strip():
            fail(name, "expected each listing's source (a string)", line=lineno, field="listings.source")
        if not isinstance(fmt, str) or not fmt.strip():
            fail(name, "expected each listing's format (a string)", line=lineno, field="listings.format")
        day = _date(listing.get("date"), lineno, name, "listings.date")
        if day is None:
            fail(name, "expected each listing's date", line=lineno, field="listings.date")
        position = int_or_none(listing.get("position"))
        record = replace(base, upvotes=int_or_none(listing.get("upvotes")),
                         comments=int_or_none(listing.get("comments")),
                         position=position if position is not None else lineno)
        out.append(((source, day, fmt), record))
    if not out:
        day = published or ctx.date
        if day is None:
            fail(name, "no listings and no published date (give --date)", line=lineno, field="listings")
        out.append(((ctx.source or DEFAULT_SOURCE, day, FORMAT), base))
    return out
