"""Properties: whatever the bytes, a parser yields batches or raises an InputError, nothing else."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest.formats import ParseContext, bounds, bytes_input, format_names, parse
from bot.ingest.formats._common import clean, split_authors
from storage.errors import InputError
from storage.normalize import clean_text

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
SEEDS = {
    "hf-page": (FIXTURES / "ingest" / "hf-page-noisy-jan-29.txt").read_bytes(),
    "hf-api": (FIXTURES / "hf-daily-papers-api-sample.json").read_bytes(),
    "arxiv-rss": (FIXTURES / "arxiv-rss-sample.xml").read_bytes(),
    "arxiv-atom": (FIXTURES / "arxiv-api-sample.xml").read_bytes(),
    "arxiv-snapshot": (FIXTURES / "ingest" / "arxiv-snapshot-sample.jsonl").read_bytes(),
    "paperboy-jsonl": (FIXTURES / "ingest" / "paperboy-export-sample.jsonl").read_bytes(),
}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes, fmt: str | None) -> str:
    """Parse fully; 'ok' or 'error'. Any other exception fails the test."""
    ctx = ParseContext(name="fuzz", today=dt.date(2025, 9, 10), chunk_size=2)
    try:
        _, batches = parse(bytes_input(data), ctx, fmt)
        for batch in batches:
            assert all(isinstance(p.title, str) and p.title for p in batch.papers)
            assert bounds.date_problem(batch.date, dt.date.today()) is None
            for p in batch.papers:  # what one paper may cost (bot.ingest.formats.bounds)
                assert len(p.title) <= bounds.TITLE_CHARS and len(p.abstract) <= bounds.ABSTRACT_CHARS
                assert len(p.authors) <= bounds.AUTHORS and len(p.links) <= bounds.LIST_ITEMS
                for count in (p.upvotes, p.comments):
                    assert count is None or 0 <= count <= bounds.MAX_COUNT
    except InputError as exc:
        assert str(exc).startswith("fuzz") and "\n" not in str(exc)
        return "error"
    return "ok"


def test_seeds_parse() -> None:
    assert set(SEEDS) == set(format_names())
    for fmt, data in SEEDS.items():
        assert outcome(data, fmt) == "ok", fmt
        assert outcome(data, None) == "ok", fmt


@pytest.mark.parametrize("fmt", [None, *SEEDS])
@FAST
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(fmt: str | None, data: bytes) -> None:
    outcome(data, fmt)


@pytest.mark.parametrize("fmt", list(SEEDS))
@FAST
@given(text=st.text(alphabet=st.sampled_from(list('{}[]<>"\':,·-\n 0123456789abcSepJan&;/!?')), max_size=200))
def test_arbitrary_structured_text(fmt: str, text: str) -> None:
    outcome(text.encode(), fmt)


@pytest.mark.parametrize("fmt", list(SEEDS))
@FAST
@given(data=st.data())
def test_mutated_samples(fmt: str, data: st.DataObject) -> None:
    seed = SEEDS[fmt]
    cut = data.draw(st.integers(0, len(seed)), label="cut")
    at = data.draw(st.integers(0, len(seed)), label="at")
    junk = data.draw(st.binary(max_size=8), label="junk")
    mutated = seed[:at] + junk + seed[at + len(junk):]
    outcome(mutated[:cut] if data.draw(st.booleans(), label="truncate") else mutated, fmt)
    outcome(mutated, None)


@FAST
@given(text=st.text(max_size=200))
def test_clean_text_collapses_white_space_like_the_regex_definition(text: str) -> None:
    import html
    import re

    assert clean(text) == clean_text(text) == re.sub(r"\s+", " ", html.unescape(text)).strip()


@FAST
@given(text=st.text(alphabet=st.sampled_from(list("ab (),and ")), max_size=60))
def test_split_authors_never_loses_letters(text: str) -> None:
    for and_separates in (False, True):
        names = split_authors(text, and_separates=and_separates)
        assert all(n == n.strip() and n for n in names)
        assert "".join(names).count("b") == text.count("b")
