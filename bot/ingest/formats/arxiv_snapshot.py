"""The arXiv metadata snapshot (Kaggle / Cornell `arxiv-metadata-oai-snapshot.json`): one JSON object a line.

    {"id": "0704.0001", "submitter": ..., "authors": "A, B and C", "title": ..., "comments": ...,
     "journal-ref": ..., "doi": ..., "categories": "hep-ph cs.LG", "abstract": ...,
     "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}, ...],
     "update_date": "2008-11-13", "authors_parsed": [["Last", "First", ""], ...]}

Streams in constant memory: lines are read one at a time and handed out in partial batches
(`complete=False`) of about `ctx.chunk_size` papers, one batch per first-version date in the
chunk. Authors come from `authors_parsed` (Unicode, affiliations apart), not the raw TeX string.
A paper is filed under its first version's date (else `update_date`); its position is its
line number, so re-loading a file gives the same positions. Built for speed: one `json.loads` and
no regular expression per line beyond the id check and the author split.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from bot.ingest.formats._common import (
    MONTHS,
    clean,
    fail,
    first_json_object,
    json_records,
    json_type,
    rfc822_date,
    split_authors,
)
from bot.ingest.formats.names import clean_authors, parsed_name
from storage.normalize import ARXIV_ID_RE, links_in_text
from storage.records import PaperRecord, ParsedDigest

if TYPE_CHECKING:
    from bot.ingest.formats import ParseContext

FORMAT = "arxiv-snapshot"
DEFAULT_SOURCE = "arxiv-snapshot"


def sniff(head: str) -> bool:
    obj = first_json_object(head)
    if obj is None:
        # A first line longer than the sniffing window: look at its keys as text.
        line = head.lstrip()[:65536]
        return line.startswith("{") and "\n" not in line and '"id"' in line and '"abstract"' in line and (
            '"versions"' in line or '"update_date"' in line or '"categories"' in line)
    return "id" in obj and "abstract" in obj and ("versions" in obj or "update_date" in obj)


class _Dates:
    """Snapshot dates ("Mon, 2 Apr 2007 19:18:42 GMT") to `date`s, cached by their day part."""

    def __init__(self) -> None:
        self._cache: dict[str, dt.date | None] = {}

    def created(self, text: str) -> dt.date | None:
        # The day part "2 Apr 2007" sits between the weekday and the time.
        comma = text.find(", ")
        key = text[comma + 2: comma + 13] if comma >= 0 else text
        try:
            return self._cache[key]
        except KeyError:
            pass
        value = self._parse(text)
        if len(self._cache) < 100_000:
            self._cache[key] = value
        return value

    @staticmethod
    def _parse(text: str) -> dt.date | None:
        parts = text.replace(",", " ").split()
        if len(parts) >= 4 and parts[0].isalpha():
            parts = parts[1:]
        if len(parts) >= 3:
            month = MONTHS.get(parts[1][:3].lower())
            if month and parts[0].isdigit() and parts[2].isdigit():
                try:
                    return dt.date(int(parts[2]), month, int(parts[0]))
                except ValueError:
                    return None
        return rfc822_date(text)


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]:
    source = ctx.source or DEFAULT_SOURCE
    chunk_size = max(1, ctx.chunk_size)
    dates = _Dates()
    groups: dict[dt.date, list[PaperRecord]] = {}
    pending = 0
    name = ctx.name
    for record, day in json_records(stream, name, ctx.notes, lambda obj, lineno: _record(obj, lineno, name, dates)):
        group = groups.get(day)
        if group is None:
            groups[day] = [record]
        else:
            group.append(record)
        pending += 1
        if pending >= chunk_size:
            yield from _batches(groups, source)
            groups = {}
            pending = 0
    yield from _batches(groups, source)


def _batches(groups: dict[dt.date, list[PaperRecord]], source: str) -> Iterator[ParsedDigest]:
    for day, papers in groups.items():
        yield ParsedDigest(source=source, date=day, format=FORMAT, papers=papers, complete=False)


def _text(obj: dict[str, Any], key: str, lineno: int, name: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        fail(name, "missing" if value is None else f"expected a string, found {json_type(value)}",
             line=lineno, field=key)
    return value


def _authors(obj: dict[str, Any]) -> list[str]:
    """The names of `authors_parsed` (already Unicode, affiliations apart); the `authors` string,
    split and cleaned, when that is missing or names fewer people."""
    parsed = obj.get("authors_parsed")
    names = clean_authors(n for n in (parsed_name(p) for p in parsed) if n) if isinstance(parsed, list) else []
    text = obj.get("authors")
    if not isinstance(text, str):
        return names
    # At most this many names in the string (affiliations' commas count too): reading it is only
    # worth it when authors_parsed might have left someone out.
    if names and len(names) >= text.count(",") + text.count(" and ") + 1:
        return names
    written = clean_authors(split_authors(text, and_separates=True))
    return names if len(names) >= len(written) else written


def _record(obj: dict[str, Any], lineno: int, name: str, dates: _Dates) -> tuple[PaperRecord, dt.date]:
    raw_id = _text(obj, "id", lineno, name)
    m = ARXIV_ID_RE.fullmatch(raw_id.strip())
    if m is None:
        fail(name, f"expected an arXiv id like 0704.0001 or hep-th/9901001, found '{raw_id[:40]}'",
             line=lineno, field="id")
    arxiv_id = m.group(1)
    title = clean(_text(obj, "title", lineno, name))
    if not title:
        fail(name, "empty (expected the paper's title)", line=lineno, field="title")
    abstract = clean(_text(obj, "abstract", lineno, name))

    published: dt.date | None = None
    versions = obj.get("versions")
    if versions:
        first = versions[0] if isinstance(versions, list) else None
        created = first.get("created") if isinstance(first, dict) else None
        if not isinstance(created, str):
            fail(name, "expected a list of {\"version\", \"created\"} objects", line=lineno, field="versions")
        published = dates.created(created)
        if published is None:
            fail(name, f"expected a date like 'Mon, 2 Apr 2007 19:18:42 GMT', found '{created[:40]}'",
                 line=lineno, field="versions")
    day = published
    if day is None:
        update = obj.get("update_date")
        if isinstance(update, str):
            try:
                day = dt.date.fromisoformat(update[:10])
            except ValueError:
                fail(name, f"expected a date like 2008-11-13, found '{update[:40]}'", line=lineno,
                     field="update_date")
        else:
            fail(name, "no date: expected versions[0].created or update_date", line=lineno, field="versions")

    authors = _authors(obj)
    categories_text = obj.get("categories")
    categories = categories_text.split() if isinstance(categories_text, str) else []

    links = {"arxiv": f"https://arxiv.org/abs/{arxiv_id}", "pdf": f"https://arxiv.org/pdf/{arxiv_id}"}
    doi = obj.get("doi")
    if isinstance(doi, str) and doi.strip():
        links["doi"] = f"https://doi.org/{doi.split()[0]}"
    if "http" in abstract:
        for kind, url in links_in_text(abstract).items():
            links.setdefault(kind, url)
    comments = obj.get("comments")
    if isinstance(comments, str) and "http" in comments:
        for kind, url in links_in_text(comments).items():
            links.setdefault(kind, url)

    record = PaperRecord(title=title, abstract=abstract, arxiv_id=arxiv_id, authors=authors, links=links,
                         categories=categories, published=published, position=lineno)
    return record, day
