"""The synthetic snapshot generator: deterministic, the size asked, and lines the real parser accepts."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import re
from pathlib import Path

import pytest

from bench import corpus

KEYS = ["id", "submitter", "authors", "title", "comments", "journal-ref", "doi", "report-no", "categories",
        "license", "abstract", "versions", "update_date", "authors_parsed"]
NEW_STYLE_ID = re.compile(r"^(\d{2})(\d{2})\.\d{5}$")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_other_text(tmp_path: Path) -> None:
    a = corpus.write_corpus(tmp_path / "a.jsonl", 400, seed=7)
    b = corpus.write_corpus(tmp_path / "b.jsonl", 400, seed=7)
    c = corpus.write_corpus(tmp_path / "c.jsonl", 400, seed=8)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("size", [0, 1, 131, 132, 1000])
def test_writes_exactly_the_size_asked_with_unique_ordered_ids(tmp_path: Path, size: int) -> None:
    path = corpus.write_corpus(tmp_path / "c.jsonl", size)
    ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(ids) == size
    assert len(set(ids)) == size
    assert ids == sorted(ids)  # the snapshot's own order: by id


def test_records_are_well_formed_snapshot_lines() -> None:
    records = list(corpus.generate(600, seed=3))
    first_dates = set()
    for r in records:
        assert list(r) == KEYS
        m = NEW_STYLE_ID.match(r["id"])
        assert m, r["id"]
        versions = [email.utils.parsedate_to_datetime(v["created"]) for v in r["versions"]]
        assert [v["version"] for v in r["versions"]] == [f"v{i + 1}" for i in range(len(versions))]
        assert versions == sorted(versions)
        # The id's YYMM is the month of the first version, as arXiv numbers them.
        assert (versions[0].year % 100, versions[0].month) == (int(m.group(1)), int(m.group(2)))
        assert r["update_date"] == versions[-1].date().isoformat()
        first_dates.add(versions[0].date())
        names = [f"{first} {last}" for last, first, _ in r["authors_parsed"]]
        expected = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        assert r["authors"] == expected
        assert r["categories"].split() and all("." in c for c in r["categories"].split())
        assert r["title"].strip() and len(r["abstract"]) > 200
    assert min(first_dates) < dt.date(2016, 1, 1) and max(first_dates) > dt.date(2025, 1, 1)
    assert len(first_dates) > 300  # many digest dates, not a handful


def test_text_is_recombined_from_the_real_sample() -> None:
    records = list(corpus.generate(500, seed=5))
    sentences = {s for p in corpus.sample_papers() for s in corpus._SENTENCE_END.split(p.abstract)}
    for r in records[:50]:
        assert all(line in sentences for line in r["abstract"].strip().split("\n"))
    with_model = sum("model" in r["abstract"].lower() for r in records)
    assert with_model > len(records) // 2
    assert len({r["title"] for r in records}) > 490  # titles are nearly all distinct


def test_sample_titles_are_the_144_real_ones() -> None:
    titles = corpus.sample_titles()
    assert len(titles) == 144
    assert titles[0] == "Unified Multivariate Gaussian Mixture for Efficient Neural Image Compression"


def test_refuses_sizes_that_do_not_fit_arxiv_ids() -> None:
    with pytest.raises(ValueError, match="five-digit"):
        next(corpus.generate(len(corpus.MONTHS) * corpus.MAX_PER_MONTH + 1))


def test_the_snapshot_parser_reads_every_record(tmp_path: Path) -> None:
    pytest.importorskip("bot.ingest.formats.arxiv_snapshot")
    from bot.ingest.formats import ParseContext, open_input, parse

    path = corpus.write_corpus(tmp_path / "c.jsonl", 300)
    expected = {json.loads(line)["id"]: json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()}
    stream = open_input(str(path))
    try:
        _, batches = parse(stream, ParseContext(name=str(path), today=dt.date(2025, 12, 31)))
        papers = [p for batch in batches for p in batch.papers]
    finally:
        stream.close()
    assert sorted(p.arxiv_id or "" for p in papers) == sorted(expected)
    for p in papers:
        source = expected[p.arxiv_id or ""]
        assert p.title == " ".join(source["title"].split())
        assert p.abstract == " ".join(source["abstract"].split())
