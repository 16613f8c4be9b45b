"""Format detection from content, opening inputs, and inputs that are not digests at all."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.ingest.formats import (
    SNIFF_BYTES,
    ParseContext,
    bytes_input,
    detect_format,
    format_names,
    open_input,
    parse,
)
from storage.errors import InputError, ParseError, UnknownFormat
from storage.records import ParsedDigest

Run = Callable[..., tuple[str, list[ParsedDigest]]]

EXPECTED = {
    "hf-daily-papers-page-sep-9.txt": "hf-page",
    "hf-page-noisy-jan-29.txt": "hf-page",
    "hf-page-trending.txt": "hf-page",
    "hf-page-dec-31.txt": "hf-page",
    "hf-daily-papers-api-sample.json": "hf-api",
    "arxiv-rss-sample.xml": "arxiv-rss",
    "arxiv-api-sample.xml": "arxiv-atom",
    "arxiv-snapshot-sample.jsonl": "arxiv-snapshot",
    "paperboy-export-sample.jsonl": "paperboy-jsonl",
}


def test_format_names() -> None:
    assert format_names() == ["paperboy-jsonl", "arxiv-snapshot", "hf-api", "arxiv-rss", "arxiv-atom", "hf-page"]


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED.items()))
def test_detected_from_content_not_name(fixture_path: Callable[[str], Path], name: str, fmt: str) -> None:
    head = fixture_path(name).read_bytes()[:SNIFF_BYTES]
    assert detect_format(head, "misleading.xml") == fmt
    assert detect_format(b"\xef\xbb\xbf" + head, "with-bom") == fmt
    assert detect_format(b"\n\n  " + head, "leading-space") == fmt


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED.items()))
def test_open_input_parses_every_fixture(fixture_path: Callable[[str], Path], name: str, fmt: str) -> None:
    ctx = ParseContext(name=name, today=dt.date(2025, 9, 10), date=dt.date(2025, 9, 10))
    stream = open_input(str(fixture_path(name)))
    try:
        found, batches = parse(stream, ctx)
        papers = [p for b in batches for p in b.papers]
    finally:
        stream.close()
    assert found == fmt
    assert papers and all(p.title and p.title == p.title.strip() for p in papers)


def test_open_input_and_bytes_input_peek_the_whole_window(tmp_path: Path) -> None:
    data = (b"x" * 1000 + b"\n") * 200  # 200 KB
    path = tmp_path / "big.txt"
    path.write_bytes(data)
    with open_input(str(path)) as stream:
        assert len(stream.peek(SNIFF_BYTES)) >= SNIFF_BYTES  # type: ignore[attr-defined]
        assert stream.read() == data
    stream = bytes_input(data)
    assert len(stream.peek(SNIFF_BYTES)) >= SNIFF_BYTES  # type: ignore[attr-defined]
    assert stream.read() == data


def test_stream_without_peek_is_wrapped(fixture_path: Callable[[str], Path]) -> None:
    raw = io.BytesIO(fixture_path("arxiv-rss-sample.xml").read_bytes())
    fmt, batches = parse(raw, ParseContext(name="x", today=dt.date(2025, 1, 1)))
    assert fmt == "arxiv-rss" and len(next(batches).papers) == 2


def test_forced_format_wins_over_content(run: Run, fixture_path: Callable[[str], Path]) -> None:
    with pytest.raises(ParseError, match=r"expected an RSS feed \(<rss>\), found <feed>"):
        run(fixture_path("arxiv-api-sample.xml"), fmt="arxiv-rss")


def test_unknown_forced_format(run: Run) -> None:
    with pytest.raises(UnknownFormat, match=r"input.txt: unknown format 'csv' \(expected one of: paperboy-jsonl, "):
        run(b"a,b\n", fmt="csv")


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", ParseError, r"^x.bin: empty file$"),
        (b" \n\t\n", ParseError, r"^x.bin: empty file \(only white space\)$"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", UnknownFormat, r"^x.bin: binary data, not a text digest$"),
        (gzip.compress(b"Sep 9\n"), UnknownFormat, r"^x.bin: gzip-compressed data, not a text digest: decompress"),
        (b"PK\x03\x04rest", UnknownFormat, r"a zip archive"),
        ("Sep 9\n".encode("utf-16"), UnknownFormat, r"UTF-16 text: save the digest as UTF-8"),
        (b"Daily Papers\n\nSep 9\n\nCaf\xe9 title\n", ParseError, r"^x.bin, line 5: not UTF-8 text$"),
        (b"<!DOCTYPE html><html><head><title>Blog</title></head><body></body></html>", UnknownFormat,
         r"an HTML page, not a digest"),
        (b"just some words\nin a file\n", UnknownFormat, r"not a digest in any known format \(paperboy-jsonl, "),
        (b'{"some": "json"}\n', UnknownFormat, r"not a digest in any known format"),
        (b"<note><to>x</to></note>", UnknownFormat, r"not a digest in any known format"),
    ],
)
def test_inputs_that_are_not_digests(run: Run, data: bytes, error: type[InputError], message: str) -> None:
    with pytest.raises(error, match=message):
        run(data, name="x.bin")


def test_utf8_character_cut_by_the_window_is_fine() -> None:
    head = ("Daily Papers\n\nSep 9\n\n" + "é" * (SNIFF_BYTES // 2)).encode()[:SNIFF_BYTES]
    assert head[-1:] == b"\xc3"
    assert detect_format(head, "x") == "hf-page"


@pytest.mark.parametrize("fmt", ["hf-page", "hf-api", "arxiv-rss", "arxiv-atom", "arxiv-snapshot", "paperboy-jsonl"])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"^forced: empty file"),
        (b"\x89\x00\x01\x02binary\nSep 9\n", r"^forced, line 1: binary data, not a text digest \(a NUL byte\)$"),
        (b"\xff\xfe\xfd", r"^forced, line 1: not UTF-8 text$"),
    ],
)
def test_every_parser_refuses_empty_binary_and_non_utf8(run: Run, fmt: str, data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        run(data, fmt=fmt, name="forced")
