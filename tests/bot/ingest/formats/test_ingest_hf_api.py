"""hf-api: the Hugging Face daily-papers JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.formats.hf_api import sniff
from storage.errors import ParseError
from storage.records import ParsedDigest

Run = Callable[..., tuple[str, list[ParsedDigest]]]
SAMPLE = "hf-daily-papers-api-sample.json"


def item(**paper: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "2401.00001", "title": "A Paper", "summary": "An abstract.", "upvotes": 1,
                            "authors": [{"name": "Ann Author", "hidden": False}]}
    base.update(paper)
    return {"paper": {k: v for k, v in base.items() if v is not None}, "numComments": 2}


def as_bytes(value: object) -> bytes:
    return json.dumps(value).encode()


def test_sample(run: Run, fixture_path: Callable[[str], Path]) -> None:
    fmt, digests = run(fixture_path(SAMPLE))
    assert fmt == "hf-api"
    assert {(d.source, d.format, d.complete, d.grows) for d in digests} == {("hf-daily", "hf-api", True, True)}
    # Four listing days, one digest each, in date order; the item without a listing day joins the
    # most common day (a tie: the latest).
    assert [(d.date, [p.arxiv_id for p in d.papers]) for d in digests] == [
        (dt.date(2023, 2, 9), ["2302.04304"]), (dt.date(2023, 6, 14), ["2306.07629"]),
        (dt.date(2024, 1, 29), ["2401.15024"]), (dt.date(2024, 7, 9), ["2407.05000", "2205.14135"])]
    by_id = {p.arxiv_id: p for d in digests for p in d.papers}
    squeeze, slice_gpt, lora, flash, qdiff = (by_id[i] for i in ("2306.07629", "2401.15024", "2407.05000",
                                                                  "2205.14135", "2302.04304"))
    assert squeeze.title == "SqueezeLLM: Dense-and-Sparse Quantization"
    assert squeeze.authors[:2] == ["Sehoon Kim", "Coleman Hooper"] and len(squeeze.authors) == 8
    assert (squeeze.upvotes, squeeze.comments, squeeze.published) == (12, 1, dt.date(2023, 6, 13))
    assert squeeze.links == {"arxiv": "https://arxiv.org/abs/2306.07629", "pdf": "https://arxiv.org/pdf/2306.07629",
                             "github": "https://github.com/SqueezeAILab/SqueezeLLM"}
    assert squeeze.keywords[0] == "post-training quantization" and "LLaMA" in squeeze.keywords
    assert squeeze.ai_summary is not None and squeeze.ai_summary.startswith("SqueezeLLM combines")
    # Hard line wraps collapsed.
    assert slice_gpt.title == "SliceGPT: Compress Large Language Models by Deleting Rows and Columns"
    assert (slice_gpt.upvotes, slice_gpt.comments) == (67, 4)
    assert "\n" not in flash.abstract and "  " not in flash.abstract
    assert flash.title == "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
    # Optional fields absent in older items.
    assert (flash.keywords, flash.ai_summary, flash.upvotes) == ([], None, 0)
    assert set(flash.links) == {"arxiv", "pdf"}
    assert qdiff.links["project"] == "https://xiuyuli.com/qdiffusion"
    assert qdiff.links["github"] == "https://github.com/Xiuyu-Li/q-diffusion"
    assert lora.authors == ["Shaowen Wang", "Linxi Yu", "Jian Li"]


def test_each_listing_day_is_its_own_digest(run: Run) -> None:
    # A ?limit= or ?week= response holds several days (issue #13): each is filed under its own day.
    items = [item(id=f"2401.0000{i}", title=f"Paper {i}", submittedOnDailyAt=day)
             for i, day in enumerate(["2024-01-29T02:00:00.000Z", "2024-01-29T03:00:00.000Z",
                                      "2024-01-26T01:00:00.000Z"])]
    _, digests = run(as_bytes(items))
    assert [(d.date, [p.title for p in d.papers]) for d in digests] == [
        (dt.date(2024, 1, 26), ["Paper 2"]), (dt.date(2024, 1, 29), ["Paper 0", "Paper 1"])]
    _, [digest] = run(as_bytes(items), date=dt.date(2024, 2, 1), source="hf-weekly")
    assert (digest.date, digest.source) == (dt.date(2024, 2, 1), "hf-weekly")


def test_without_listing_day_the_published_date_is_used(run: Run) -> None:
    _, [digest] = run(as_bytes([item(publishedAt="2024-03-05T10:00:00.000Z")]))
    assert digest.date == dt.date(2024, 3, 5)


def test_empty_list_is_an_empty_day_when_dated(run: Run) -> None:
    with pytest.raises(ParseError, match="input.txt: no papers and no date"):
        run(b"[]")
    fmt, [digest] = run(b"[]\n", date=dt.date(2025, 9, 6))
    assert (fmt, digest.date, digest.papers) == ("hf-api", dt.date(2025, 9, 6), [])


def test_single_paper_object(run: Run) -> None:
    paper = item(publishedAt="2024-01-02T00:00:00.000Z", githubRepo="https://github.com/a/b")["paper"]
    fmt, [digest] = run(as_bytes(paper))
    assert fmt == "hf-api"
    assert [(p.arxiv_id, p.title, p.links["github"]) for p in digest.papers] == [
        ("2401.00001", "A Paper", "https://github.com/a/b")]


def test_duplicates_and_links_in_abstract(run: Run) -> None:
    items = [item(summary="Code: https://github.com/x/y. Site: https://x.example/demo.",
                  publishedAt="2024-01-02T00:00:00Z"),
             item(title="A Paper (again)", publishedAt="2024-01-02T00:00:00Z")]
    _, [digest] = run(as_bytes(items))
    [paper] = digest.papers
    assert paper.links["github"] == "https://github.com/x/y"
    assert paper.links["project"] == "https://x.example/demo"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"paper": {"id": "2401.00001", "title": "A"', r"input.txt, line 1: invalid JSON at column \d+: .*cut off"),
        # The column and the wording differ between Python versions (3.13 names the trailing comma).
        (b'[\n  {"paper": {"id": "2401.00001",\n   "title": "A", }}]',
         r"input.txt, line 3: invalid JSON at column \d+"),
        (as_bytes([item(title=None, publishedAt="2024-01-01")]), r"input.txt, item 1, field 'title': missing"),
        (as_bytes([item(publishedAt="2024-01-01"), item(title=5)]),
         r"input.txt, item 2, field 'title': expected a string, found a number"),
        (as_bytes([item(publishedAt="2024-01-01"), 7]), r"input.txt, item 2: expected an object, found a number"),
        (as_bytes({"error": "Invalid date"}), r"input.txt: the API answered an error: Invalid date"),
        (b'"just a string"', r"expected a JSON list of daily-papers items, found a string"),
        (as_bytes([item()]), r"no date: the items have neither submittedOnDailyAt nor publishedAt"),
        (b"[" * 100_000, r"invalid JSON"),
    ],
)
def test_bad_json(run: Run, data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        run(data, fmt="hf-api")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('[\n  {\n    "paper": {', True),
        ("[]", True),
        ('{"paper": {"id": "1"}}', True),
        ('{"id": "2401.1", "title": "t", "summary": "s", "upvotes": 3}', True),
        ('{"id": "0704.0001", "abstract": "a", "versions": []}', False),
        ("[1, 2, 3]", False),
        ("Sep 9\n", False),
    ],
)
def test_sniff(head: str, expected: bool) -> None:
    assert sniff(head) is expected
