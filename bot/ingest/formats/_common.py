"""Helpers shared by the digest parsers: strict decoding, errors, dates, small text utilities."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO, NoReturn, TypeVar

from bot.ingest.formats.bounds import Notes
from storage.errors import ParseError
from storage.normalize import clean_text

clean = clean_text  # the parsers import it from here
T = TypeVar("T")

# The three-letter month names and their common long forms ("Sept" included).
MONTHS: dict[str, int] = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}


def fail(name: str, message: str, *, line: int | None = None, item: int | None = None,
         field: str | None = None) -> NoReturn:
    raise ParseError(name, message, line=line, item=item, field=field)


def collapse(text: str) -> str:
    """White space collapsed, nothing unescaped (for text an XML parser has already unescaped once)."""
    return " ".join(text.split())


def read_text(stream: BinaryIO, name: str) -> str:
    """The whole stream as text: strict UTF-8, a leading BOM dropped; empty or binary input refused."""
    data = stream.read()
    return decode_text(data, name)


def decode_text(data: bytes, name: str) -> str:
    check_bytes(data, name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(name, "not UTF-8 text", line=data.count(b"\n", 0, exc.start) + 1)
    return text[1:] if text.startswith("\ufeff") else text


def check_bytes(data: bytes, name: str) -> None:
    """Refuse an empty or binary file with a clear message."""
    if not data.strip():
        fail(name, "empty file" if not data else "empty file (only white space)")
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        fail(name, "binary data, not a text digest (a NUL byte)", line=line)


MAX_BAD_LINES = 100  # a streamed file stops loading after this many bad lines (docs/formats.md, "Loading")


def json_records(stream: BinaryIO, name: str, notes: Notes,
                 build: Callable[[dict[str, Any], int], T]) -> Iterator[T]:
    """`build(object, line number)` for each non-blank line of a JSON Lines stream, read one line
    at a time (constant memory). The streamed-file contract (docs/formats.md): a bad line (a NUL byte, not
    UTF-8, not a JSON object, or refused by `build` with a ParseError) is skipped and noted with
    its line number; after MAX_BAD_LINES bad lines the stream ends, and `bounded` raises, once the
    batches before are loaded, an error saying what was kept (`notes.stopped`). A stream with no
    good line fails with its first error (an empty one: "empty file")."""
    good = bad = 0
    first_error: ParseError | None = None
    for lineno, raw in enumerate(stream, 1):
        try:
            obj = _json_line(raw, name, lineno)
            if obj is None:
                continue
            record = build(obj, lineno)
        except ParseError as exc:
            bad += 1
            first_error = first_error or exc
            if bad > MAX_BAD_LINES:  # raised by `bounded` once the good lines before it are loaded
                notes.stopped = ParseError(name, f"stopped at the {bad}th bad line ({exc.reason}); the "
                                                 f"{good:,} good lines before it are stored", line=lineno)
                return
            notes.add(f"{exc} (line skipped)")
            notes.skipped += 1
            continue
        good += 1
        yield record
    if not good:
        if first_error is None:
            fail(name, "empty file")
        notes.drain()  # nothing was kept: the first error says it all
        raise first_error


def _json_line(raw: bytes, name: str, lineno: int) -> dict[str, Any] | None:
    if b"\x00" in raw:
        fail(name, "binary data, not a text digest (a NUL byte)", line=lineno)
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(name, "not UTF-8 text", line=lineno)
    if lineno == 1 and line.startswith("\ufeff"):
        line = line[1:]
    if not line or line.isspace():
        return None
    return load_json_line(line, name, lineno)


def load_json_line(line: str, name: str, lineno: int) -> dict[str, Any]:
    """One JSON Lines record, which must be an object."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        fail(name, f"invalid JSON at column {exc.colno}: {exc.msg}", line=lineno)
    except (ValueError, RecursionError) as exc:
        fail(name, f"invalid JSON: {exc}", line=lineno)
    if not isinstance(obj, dict):
        fail(name, f"expected a JSON object, found {json_type(obj)}", line=lineno)
    return obj


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def first_json_line(head: str) -> str:
    """The first non-blank line of a sniffed head (possibly cut off at the end of the head)."""
    for line in head.splitlines():
        if line.strip():
            return line.strip()
    return ""


def first_json_object(head: str) -> dict[str, Any] | None:
    """The first line of `head` as a JSON object, or None (never raises)."""
    line = first_json_line(head)
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def iso_date(value: object) -> dt.date | None:
    """The date of an ISO 8601 date or timestamp ("2024-07-09", "2024-07-09T00:41:27.958Z"), else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def rfc822_date(value: str | None) -> dt.date | None:
    """The calendar date of an RFC 822 date ("Tue, 09 Jul 2024 00:00:00 -0400") in its own zone, else None."""
    if not value or not value.strip():
        return None
    try:
        return parsedate_to_datetime(value.strip()).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# Applied to white space already collapsed to single spaces, every alternative a bounded length: it
# cannot backtrack (the former `\s*,?\s+and\s+` took hours over "A", 20,000 spaces, "B").
_SEPARATORS = re.compile(r" ?,? and | ?[,;] ?")
# An author list longer than this is cut (the longest real ones, large collaborations, are ~60,000).
MAX_AUTHORS_TEXT = 200_000


def split_authors(text: str, *, and_separates: bool = False) -> list[str]:
    """Split "A, B (X, Y), C" on the commas that are not inside parentheses.

    With `and_separates`, " and " also separates names ("A, B and C", the arXiv metadata style).
    """
    text = collapse(text[:MAX_AUTHORS_TEXT])
    if "(" not in text and "[" not in text:
        parts = _SEPARATORS.split(text) if and_separates else text.split(",")
        return [p for p in (collapse(x) for x in parts) if p]
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch == ",":
            pieces.append(text[start:i])
            start = i + 1
        elif depth == 0 and and_separates and text.startswith(" and ", i):
            pieces.append(text[start:i])
            start = i + 5
            i += 5
            continue
        i += 1
    pieces.append(text[start:])
    return [p for p in (collapse(x) for x in pieces) if p]


def str_list(value: object) -> list[str]:
    """The strings of a JSON list (anything else ignored)."""
    if not isinstance(value, list):
        return []
    return [collapse(v) for v in value if isinstance(v, str) and v.strip()]


def int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


_DOCTYPE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def refuse_dtd(data: bytes, name: str) -> None:
    """XML with a DTD can define entities that expand without bound: refuse it."""
    m = _DOCTYPE.search(data)
    if m:
        fail(name, "XML with a DOCTYPE or ENTITY declaration is refused (entity expansion)",
             line=data.count(b"\n", 0, m.start()) + 1)


_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)[\"']")


def xml_root(data: bytes, name: str) -> ET.Element:
    """Parse an XML document (already checked by `refuse_dtd`); errors become ParseError with the line."""
    declared = _XML_ENCODING.match(data[:200].lstrip(b"\xef\xbb\xbf"))
    if declared is None or declared.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            fail(name, "not UTF-8 text", line=data.count(b"\n", 0, exc.start) + 1)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        fail(name, f"invalid XML at column {column + 1}: {reason}", line=line)
    except (ValueError, LookupError, RecursionError) as exc:  # e.g. an unknown declared encoding
        fail(name, f"invalid XML: {exc}")
