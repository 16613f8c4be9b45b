"""arxiv-snapshot and paperboy-jsonl: JSON Lines, streamed in partial batches."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.formats import ParseContext, arxiv_snapshot, bytes_input, paperboy_jsonl, parse
from bot.ingest.formats._common import MAX_BAD_LINES
from storage.errors import ParseError
from storage.records import ParsedDigest

Run = Callable[..., tuple[str, list[ParsedDigest]]]
SNAPSHOT = "arxiv-snapshot-sample.jsonl"
EXPORT = "paperboy-export-sample.jsonl"


def snapshot_line(n: int, created: str = "Mon, 2 Apr 2007 19:18:42 GMT", **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"0704.{n:04d}", "submitter": "S", "authors": "A. One, B. Two and C. Three", "title": f"Paper {n}",
        "comments": None, "journal-ref": None, "doi": None, "report-no": None, "categories": "cs.LG stat.ML",
        "license": None, "abstract": f"  Abstract {n}\nwrapped.\n",
        "versions": [{"version": "v1", "created": created}], "update_date": "2008-11-13",
        "authors_parsed": [["One", "A.", ""]],
    }
    record.update(extra)
    return {k: v for k, v in record.items() if v is not ...}


def lines(*records: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


# -- arxiv-snapshot ----------------------------------------------------------------------------


def test_snapshot_sample(run: Run, fixture_path: Callable[[str], Path]) -> None:
    fmt, batches = run(fixture_path(SNAPSHOT))
    assert fmt == "arxiv-snapshot"
    assert all(b.source == "arxiv-snapshot" and b.format == "arxiv-snapshot" and not b.complete for b in batches)
    assert [(b.date, [p.arxiv_id for p in b.papers]) for b in batches] == [
        (dt.date(2007, 4, 2), ["0704.0001"]),
        (dt.date(1999, 1, 1), ["hep-th/9901001"]),
        (dt.date(2022, 5, 27), ["2205.14135", "2205.14136"]),  # one batch per date in the chunk
        (dt.date(2024, 2, 12), ["2401.15024"]),  # no versions: update_date
    ]
    papers = {p.arxiv_id: p for b in batches for p in b.papers}
    first = papers["0704.0001"]
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is "
                                     "presented")
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]  # authors_parsed
    assert first.categories == ["hep-ph"]
    assert first.published == dt.date(2007, 4, 2)
    assert first.links["doi"] == "https://doi.org/10.1103/PhysRevD.76.013009"
    assert first.position == 1
    old = papers["hep-th/9901001"]
    assert old.authors == ["A. Author", "B. Writer"]  # no authors_parsed: the string, affiliation dropped
    assert old.abstract == "Old ids have an archive prefix & seven digits."
    assert old.links["arxiv"] == "https://arxiv.org/abs/hep-th/9901001"
    assert papers["2205.14135"].links["github"] == "https://github.com/HazyResearch/flash-attention"
    assert papers["2401.15024"].authors[-2:] == ["Torsten Hoefler", "James Hensman"]
    assert papers["2401.15024"].published is None
    assert [p.position for b in batches for p in b.papers] == [1, 2, 3, 4, 5]


def test_snapshot_chunks_and_stable_positions(run: Run) -> None:
    data = lines(*(snapshot_line(i, created="Tue, 3 Apr 2007 10:00:00 GMT" if i % 2 else
                                 "Mon, 2 Apr 2007 19:18:42 GMT") for i in range(1, 8)))
    _, batches = run(b"\n" + data.replace(b"\n", b"\n\n", 1), chunk_size=3)
    # Chunks of 3 papers, one batch per date inside each chunk; positions are line numbers.
    assert [(b.date.day, [p.position for p in b.papers]) for b in batches] == [
        (3, [2, 5]), (2, [4]), (2, [6, 8]), (3, [7]), (3, [9])]
    assert sorted(p.arxiv_id or "" for b in batches for p in b.papers) == [f"0704.{i:04d}" for i in range(1, 8)]


class _Exploding(io.RawIOBase):
    """Serves `good` and then fails if read further: proves the parser does not read ahead."""

    def __init__(self, good: bytes) -> None:
        self._data = good
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pos >= len(self._data):
            raise AssertionError("read past the first chunk")
        n = min(len(buffer), len(self._data) - self._pos, 64)
        buffer[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def test_snapshot_streams_without_reading_ahead() -> None:
    good = lines(*(snapshot_line(i) for i in range(1, 5)))
    stream = io.BufferedReader(_Exploding(good), buffer_size=64)
    batches = arxiv_snapshot.parse(stream, ParseContext(name="s.jsonl", today=dt.date(2025, 1, 1), chunk_size=2))
    first = next(batches)
    assert [p.arxiv_id for p in first.papers] == ["0704.0001", "0704.0002"]


def test_snapshot_bad_line_after_good_batches_is_skipped_and_noted() -> None:
    data = lines(*(snapshot_line(i) for i in range(1, 5))) + b'{"id": "0704.0009", "title": 3}\n' + lines(
        snapshot_line(6))
    ctx = ParseContext(name="s.jsonl", today=dt.date(2025, 1, 1), chunk_size=2)
    _, batches = parse(bytes_input(data), ctx)
    assert sum(len(b.papers) for b in batches) == 5  # the good lines on both sides of the bad one
    assert ctx.notes.skipped == 1
    assert ctx.notes.report() == ["s.jsonl, line 5, field 'title': expected a string, found a number (line skipped)"]


def test_snapshot_stops_after_too_many_bad_lines_saying_what_was_kept() -> None:
    data = lines(*(snapshot_line(i) for i in range(1, 4))) + b"{not json\n" * (MAX_BAD_LINES + 5)
    ctx = ParseContext(name="s.jsonl", today=dt.date(2025, 1, 1), chunk_size=2)
    _, batches = parse(bytes_input(data), ctx)
    kept = []
    with pytest.raises(ParseError, match=rf"line {MAX_BAD_LINES + 4}: stopped at the {MAX_BAD_LINES + 1}th bad "
                                         r"line \(invalid JSON.*\); the 3 good lines before it are stored"):
        for batch in batches:
            kept += batch.papers
    assert len(kept) == 3 and len(ctx.notes.report()) == 21  # 20 listed, the rest counted


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lines(snapshot_line(1)) + b'{"id": "0704.0002", "title": "x"', r"line 2: invalid JSON at column \d+"),
        (lines(snapshot_line(1), [1, 2]), r"line 2: expected a JSON object, found a list"),
        (lines(snapshot_line(1)) + b'{"id": "\xff"}\n', r"line 2: not UTF-8 text"),
        (lines(snapshot_line(1)) + b'{"id": "\x00"}\n', r"line 2: binary data"),
    ],
)
def test_a_bad_line_after_a_good_one_is_skipped(data: bytes, message: str) -> None:
    ctx = ParseContext(name="s.jsonl", today=dt.date(2025, 1, 1))
    _, batches = parse(bytes_input(data), ctx, "arxiv-snapshot")
    assert [p.arxiv_id for b in batches for p in b.papers] == ["0704.0001"]
    [note] = ctx.notes.report()
    assert re.search(message, note) and note.endswith("(line skipped)")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"id": "0704.0002", "title": "x"', r"line 1: invalid JSON at column \d+"),
        (lines(snapshot_line(1, id="not an id")), r"line 1, field 'id': expected an arXiv id like 0704.0001"),
        (lines(snapshot_line(1, abstract=...)), r"line 1, field 'abstract': missing"),
        (lines(snapshot_line(1, title="   ")), r"line 1, field 'title': empty"),
        (lines(snapshot_line(1, versions="v1")), r"line 1, field 'versions': expected a list of"),
        (lines(snapshot_line(1, versions=[{"version": "v1", "created": "yesterday"}])),
         r"line 1, field 'versions': expected a date like 'Mon, 2 Apr 2007 19:18:42 GMT', found 'yesterday'"),
        (lines(snapshot_line(1, versions=..., update_date=...)), r"line 1, field 'versions': no date"),
        (lines(snapshot_line(1, versions=..., update_date="2008-13-45")), r"field 'update_date': expected a date"),
        (lines([1, 2]), r"line 1: expected a JSON object, found a list"),
        (b'\n{"id": "\xff"}\n', r"line 2: not UTF-8 text"),
        (b"", r"s.jsonl: empty file$"),
        (b"\n  \n", r"s.jsonl: empty file$"),
    ],
)
def test_snapshot_bad_input(data: bytes, message: str) -> None:
    """A file without one good line fails with its first error."""
    _, batches = parse(bytes_input(data), ParseContext(name="s.jsonl", today=dt.date(2025, 1, 1)), "arxiv-snapshot")
    with pytest.raises(ParseError, match=message):
        list(batches)


def test_snapshot_source_option(run: Run) -> None:
    _, [batch] = run(lines(snapshot_line(1)), source="kaggle")
    assert batch.source == "kaggle"


def test_snapshot_and_clean_text_agree_on_text(run: Run) -> None:
    title = "A\u00a0title\u2003with &amp;amp; odd\x0bspace"
    _, [batch] = run(lines(snapshot_line(1, title=title)))
    assert batch.papers[0].title == "A title with &amp; odd space"


# -- paperboy-jsonl ----------------------------------------------------------------------------


def test_export_sample(run: Run, fixture_path: Callable[[str], Path]) -> None:
    fmt, batches = run(fixture_path(EXPORT))
    assert fmt == "paperboy-jsonl"
    got = [(b.source, b.date, b.format, b.complete, [(p.arxiv_id, p.position, p.upvotes, p.comments)
                                                       for p in b.papers]) for b in batches]
    assert got == [
        ("hf-daily", dt.date(2023, 6, 14), "hf-api", False, [("2306.07629", 0, 12, 1), ("2205.14135", 3, 0, 0)]),
        ("arxiv-api", dt.date(2026, 5, 11), "arxiv-atom", False, [("2306.07629", 2, None, None)]),
        ("hf-daily", dt.date(2025, 9, 9), "hf-page", False, [(None, 0, None, None)]),
        ("paperboy-export", dt.date(2024, 1, 26), "paperboy-jsonl", False, [("2401.15024", 4, None, None)]),
    ]
    squeeze = batches[0].papers[0]
    assert squeeze.title == "SqueezeLLM: Dense-and-Sparse Quantization"
    assert squeeze.keywords == ["LLaMA", "perplexity"]
    assert squeeze.ai_summary == "SqueezeLLM compresses LLaMA models to 3-bit."
    assert squeeze.published == dt.date(2023, 6, 13)
    assert squeeze.links["github"] == "https://github.com/SqueezeAILab/SqueezeLLM"
    assert squeeze.categories == ["cs.CL", "cs.LG"]


def export_line(**extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"paperboy_export": 1, "arxiv_id": "2401.00001", "title": "T", "abstract": "A",
                              "authors": [], "links": {}, "categories": [], "keywords": [], "ai_summary": None,
                              "published": None,
                              "listings": [{"source": "hf-daily", "date": "2024-01-02", "format": "hf-api",
                                            "position": 1, "upvotes": 3, "comments": None}]}
    record.update(extra)
    return {k: v for k, v in record.items() if v is not ...}


def test_export_roundtrip_of_chunks(run: Run) -> None:
    data = lines(*(export_line(arxiv_id=f"2401.{i:05d}", title=f"T{i}") for i in range(5)))
    _, batches = run(data, chunk_size=2)
    assert [len(b.papers) for b in batches] == [2, 2, 1]
    assert [p.arxiv_id for b in batches for p in b.papers] == [f"2401.{i:05d}" for i in range(5)]


def test_export_unlisted_paper_uses_date_and_source_options(run: Run) -> None:
    _, [batch] = run(lines(export_line(listings=[])), date=dt.date(2024, 5, 5), source="import")
    assert (batch.source, batch.date, batch.format) == ("import", dt.date(2024, 5, 5), "paperboy-jsonl")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (export_line(paperboy_export=2), r"line 1, field 'paperboy_export': written by a newer Paperboy"),
        (export_line(paperboy_export="1"), r"field 'paperboy_export': expected a Paperboy export line"),
        (export_line(title=None), r"line 1, field 'title': expected the paper's title"),
        (export_line(arxiv_id="nope"), r"field 'arxiv_id': expected an arXiv id or null"),
        (export_line(listings=[], published=None), r"field 'listings': no listings and no published date"),
        (export_line(listings=[{"source": "x", "format": "hf-api", "date": "2024-02-30"}]),
         r"field 'listings.date': expected a date like 2024-07-09"),
        (export_line(listings=[{"source": "x", "date": "2024-02-03"}]), r"field 'listings.format'"),
        (export_line(listings={"a": 1}), r"field 'listings': expected a list, found an object"),
        (export_line(links=[1]), r"field 'links': expected an object, found a list"),
        (export_line(published=20240101), r"field 'published': expected a date like 2024-07-09, found a number"),
    ],
)
def test_export_bad_lines(record: dict[str, Any], message: str) -> None:
    _, batches = parse(bytes_input(lines(record)), ParseContext(name="e.jsonl", today=dt.date(2025, 1, 1)),
                       "paperboy-jsonl")
    with pytest.raises(ParseError, match=message):
        list(batches)


@pytest.mark.parametrize(
    ("module", "head", "expected"),
    [
        (arxiv_snapshot, json.dumps(snapshot_line(1)) + "\n", True),
        (arxiv_snapshot, json.dumps(snapshot_line(1, versions=...)) + "\n", True),
        (arxiv_snapshot, json.dumps(snapshot_line(1))[:280], True),  # cut off by the sniffing window
        (arxiv_snapshot, '{"id": "x", "title": "y"}\n', False),
        (arxiv_snapshot, json.dumps(export_line()) + "\n", False),
        (paperboy_jsonl, json.dumps(export_line()) + "\n", True),
        (paperboy_jsonl, json.dumps(export_line())[:100], True),
        (paperboy_jsonl, json.dumps(snapshot_line(1)) + "\n", False),
        (paperboy_jsonl, "[1]", False),
    ],
)
def test_sniff(module: Any, head: str, expected: bool) -> None:
    assert module.sniff(head) is expected

