"""hf-page: the Daily Papers page as plain text, clean and noisy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.ingest.formats.hf_page import infer_year, sniff
from storage.errors import ParseError
from storage.normalize import title_key
from storage.records import ParsedDigest

Run = Callable[..., tuple[str, list[ParsedDigest]]]

SAMPLE = "hf-daily-papers-page-sep-9.txt"
HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
ABSTRACT = ("We study a problem at length. " * 12).strip()


def page(*cards: str, date: str = "Sep 9") -> bytes:
    return (HEADER + date + "\n\n" + "\n\n".join(cards) + "\n").encode()


def test_sample_has_144_papers_in_order(run: Run, fixture_path: Callable[[str], Path]) -> None:
    fmt, batches = run(fixture_path(SAMPLE))
    assert fmt == "hf-page"
    [digest] = batches
    assert (digest.source, digest.date, digest.format, digest.complete) == ("hf-daily", dt.date(2025, 9, 9),
                                                                           "hf-page", True)
    assert len(digest.papers) == 144
    first = digest.papers[0]
    assert first.title == "Unified Multivariate Gaussian Mixture for Efficient Neural Image Compression"
    assert first.abstract.startswith("Modeling latent variables with priors and hyperpriors")
    assert first.links == {"github": "https://github.com/xiaosu-zhu/McQuic"}
    assert first.arxiv_id is None and first.upvotes is None
    last = "Leveraging Reinforcement Learning and Large Language Models for Code Optimization"
    assert digest.papers[-1].title == last
    titles = [p.title for p in digest.papers]
    # LaTeX and \& are kept as written.
    assert "PanGu-$π$: Enhancing Language Model Architectures via Nonlinearity Compensation" in titles
    assert "$Δ$-DiT: A Training-Free Acceleration Method Tailored for Diffusion Transformers" in titles
    assert "TPLA: Tensor Parallel Latent Attention for Efficient Disaggregated Prefill \\& Decode Inference" in titles
    assert not any(t in {"new", "Subscribe", "Daily Papers", "Sep 9"} for t in titles)
    assert all(len(p.abstract) > 1000 for p in digest.papers)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2025, 9, 10), dt.date(2025, 9, 9)),
        (dt.date(2025, 9, 9), dt.date(2025, 9, 9)),  # the same day
        (dt.date(2025, 9, 8), dt.date(2024, 9, 9)),  # not in the future: last year's
        (dt.date(2026, 1, 2), dt.date(2025, 9, 9)),
    ],
)
def test_year_is_inferred_from_today(run: Run, fixture_path: Callable[[str], Path], today: dt.date,
                                     expected: dt.date) -> None:
    _, [digest] = run(fixture_path(SAMPLE), today=today)
    assert digest.date == expected


@pytest.mark.parametrize(
    ("month", "day", "today", "expected"),
    [
        (12, 31, dt.date(2026, 1, 2), dt.date(2025, 12, 31)),
        (1, 29, dt.date(2026, 1, 29), dt.date(2026, 1, 29)),
        (1, 29, dt.date(2026, 1, 28), dt.date(2025, 1, 29)),
        (2, 29, dt.date(2026, 3, 1), dt.date(2024, 2, 29)),  # the latest leap day
        (2, 30, dt.date(2026, 3, 1), None),
    ],
)
def test_infer_year(month: int, day: int, today: dt.date, expected: dt.date | None) -> None:
    assert infer_year(month, day, today) == expected


def test_dec_31_loaded_on_jan_2_is_last_year(run: Run, fixture_path: Callable[[str], Path]) -> None:
    _, [digest] = run(fixture_path("hf-page-dec-31.txt"), today=dt.date(2026, 1, 2))
    assert digest.date == dt.date(2025, 12, 31)
    assert [p.title for p in digest.papers] == [
        "BIOptimus: Pre-training an Optimal Biomedical Language Model with Curriculum Learning for Named Entity "
        "Recognition",
        "A Survey on Diffusion Language Models",
    ]


def test_date_option_overrides_the_page(run: Run, fixture_path: Callable[[str], Path]) -> None:
    _, [digest] = run(fixture_path(SAMPLE), date=dt.date(2024, 1, 2), source="hf-mirror")
    assert (digest.date, digest.source) == (dt.date(2024, 1, 2), "hf-mirror")


def test_noisy_daily_page(run: Run, fixture_path: Callable[[str], Path]) -> None:
    fmt, [digest] = run(fixture_path("hf-page-noisy-jan-29.txt"), today=dt.date(2025, 2, 3))
    assert fmt == "hf-page"
    assert digest.date == dt.date(2025, 1, 29)
    got = [(p.title.split(":")[0], p.upvotes, p.comments, p.published) for p in digest.papers]
    assert got == [
        ("Unified Multivariate Gaussian Mixture for Efficient Neural Image Compression", 42, 3, dt.date(2025, 1, 26)),
        ("A-SDM", 0, None, dt.date(2024, 3, 8)),  # '-' upvotes; an organisation line; a date with a year
        ("PanGu-$π$", 7, 12, dt.date(2024, 12, 30)),  # Dec 30 on a Jan 29 page: the year before
        ("$Δ$-DiT", 128, 2, dt.date(2025, 1, 28)),  # "4 authors · Jan 28 · 2" on one line
        ("TPLA", 1204, None, None),  # "1,204"
        ("FlashRNN", 0, 5, dt.date(2025, 1, 29)),  # the last card's comment count
    ]
    # The duplicated first card is dropped; noise never becomes a title.
    titles = [p.title for p in digest.papers]
    assert len({title_key(t) for t in titles}) == len(titles) == 6
    assert "Huawei Noah's Ark Lab" not in titles
    assert all(len(p.abstract) > 500 for p in digest.papers)


def test_trending_page_needs_date_and_skips_its_labels(run: Run, fixture_path: Callable[[str], Path]) -> None:
    path = fixture_path("hf-page-trending.txt")
    with pytest.raises(ParseError, match=r"hf-page-trending.txt: no date: .*'Sep 9'.*--date"):
        run(path)
    fmt, [digest] = run(path, date=dt.date(2025, 9, 10))
    assert fmt == "hf-page"
    got = [(p.title.split(":")[0], p.upvotes, p.published) for p in digest.papers]
    assert got == [
        ("Representation Alignment for Generation", 57, dt.date(2024, 10, 9)),
        ("Quantized Side Tuning", 0, dt.date(2025, 1, 10)),
        ("Selectivity Drives Productivity", 9, dt.date(2023, 10, 5)),
    ]
    assert all(p.title not in {"akhaliq", "taesiri", "arXiv Page", "GitHub 1.54k"} for p in digest.papers)


@pytest.mark.parametrize(
    ("noise", "upvotes", "comments"),
    [
        (["12"], 12, None),
        (["-"], 0, None),
        (["Upvote", "33"], 33, None),
        (["Upvote 8"], 8, None),
        (["Submitted by", "someone", "Upvote", "5"], 5, None),
        (["1.5k"], 1500, None),
    ],
)
def test_upvote_noise_before_a_title(run: Run, noise: list[str], upvotes: int, comments: int | None) -> None:
    text = page("\n".join(noise), "Only Paper Title", ABSTRACT, "3 authors", "·", "Sep 8")
    _, [digest] = run(text)
    [paper] = digest.papers
    assert (paper.title, paper.upvotes, paper.comments, paper.published) == (
        "Only Paper Title", upvotes, comments, dt.date(2025, 9, 8))


def test_lone_number_after_a_card_is_comments_when_cards_show_no_upvotes(run: Run) -> None:
    text = page("First Title", ABSTRACT, "Acme Research", "·", "Sep 8", "4", "Second Title", ABSTRACT, "·",
                "Sep 7")
    _, [digest] = run(text)
    assert [(p.title, p.upvotes, p.comments) for p in digest.papers] == [
        ("First Title", None, 4), ("Second Title", None, None)]


def test_two_numbers_between_cards_are_comments_then_upvotes(run: Run) -> None:
    text = page("10", "First Title", ABSTRACT, "2 authors", "·", "Sep 8", "4", "20", "Second Title", ABSTRACT)
    _, [digest] = run(text)
    assert [(p.upvotes, p.comments) for p in digest.papers] == [(10, 4), (20, None)]


def test_duplicate_cards_keep_the_first_position(run: Run) -> None:
    text = page("A Title", ABSTRACT, "B Title", ABSTRACT, "a   title", ABSTRACT + " Again.", "C Title", ABSTRACT)
    _, [digest] = run(text)
    assert [p.title for p in digest.papers] == ["A Title", "B Title", "C Title"]


def test_abstract_entities_unescaped_once_and_white_space_collapsed(run: Run) -> None:
    text = page("Q&amp;A:   Fast  Things", "We use &amp;lt; and a\ttab " + ABSTRACT)
    _, [digest] = run(text)
    [paper] = digest.papers
    assert paper.title == "Q&A: Fast Things"
    assert paper.abstract.startswith("We use &lt; and a tab We study")


def test_windows_line_endings_and_bom(run: Run, fixture_path: Callable[[str], Path]) -> None:
    data = b"\xef\xbb\xbf" + fixture_path(SAMPLE).read_bytes().replace(b"\n", b"\r\n")
    fmt, [digest] = run(data)
    assert fmt == "hf-page" and len(digest.papers) == 144


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (page("A Title", ABSTRACT, "Lonely Title"), r"input.txt, line 15: the title 'Lonely Title' has no abstract"),
        (page("A Title", "B Title", ABSTRACT), r"input.txt, line 11: the title 'A Title' has no abstract"),
        (page("A Title", "·", "Sep 8"), r"line 11: the title 'A Title' has no abstract"),
        (page(ABSTRACT + " " + ABSTRACT, "B Title", ABSTRACT), r"line 11: expected a title line, found a long"),
        (b"Daily Papers\n\nSep 9\n\n", r"input.txt: no papers found: expected a title line followed by"),
        (b"Daily Papers\n\nA Title\n\n" + ABSTRACT.encode() + b"\n",
         r"input.txt: no date: expected a date line like 'Sep 9' before the papers, or give --date"),
        (page("A Title", ABSTRACT, date="Feb 30"), r"line 9: 'Feb 30' is not a valid date"),
    ],
)
def test_bad_pages(run: Run, text: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        run(text, fmt="hf-page")


def test_saved_html_page_is_refused_with_advice(run: Run, fixture_path: Callable[[str], Path]) -> None:
    path = fixture_path("hf-page-saved.html")
    with pytest.raises(ParseError, match=r"hf-page-saved.html: an HTML page, not the page's text"):
        run(path)  # detected as the page, refused by its parser
    with pytest.raises(ParseError, match="an HTML page"):
        run(path, fmt="hf-page")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("new\n\nDaily Papers\n\nSep 9\n\nA title\n", True),
        ("Jan 29\n\nTitle\n\nAbstract\n", True),
        ("Trending Papers\n\nSubmitted by\nx\n", True),
        ("Just some notes\nwithout a date\n", False),
        ('[{"paper": {}}]', False),
        ("<?xml version='1.0'?><rss></rss>", False),
        ("<!DOCTYPE html><html><body>hello</body></html>", False),
        ("<!DOCTYPE html><html><body>Daily Papers</body></html>", True),
    ],
)
def test_sniff(head: str, expected: bool) -> None:
    assert sniff(head) is expected
