"""Takeaways and headline figures on the sample digest's real abstracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.summary.takeaways import figures, sentences, takeaway
from storage.records import PaperRecord
from tests.bot.summary.conftest import sample_records


@pytest.fixture(scope="module")
def abstracts() -> dict[str, str]:
    papers: list[PaperRecord] = sample_records(Path(__file__).parents[2] / "fixtures")
    return {p.title.split(":")[0]: p.abstract for p in papers}


@pytest.mark.parametrize(("paper", "expected"), [
    ("A-SDM", "After acceleration, the UNet part of the model is 22% faster and the overall speed is 19% faster."),
    ("FlashRNN", "We show that our kernels can achieve 50x speed-ups over a vanilla PyTorch implementation and "
                 "allow 40x larger hidden sizes compared to our Triton implementation."),
    ("Unified Multivariate Gaussian Mixture for Efficient Neural Image Compression",
     "Extensive experiments on benchmark datasets against state-of-the-art indicate our model has better "
     "rate-distortion performance and an impressive 3.18× compression speed up, giving us the ability to perform "
     "real-time, high-quality variational image compression in practice."),
    ("GraphVite", "Compared to the current fastest system, GraphVite is about 50 times faster without any sacrifice "
                  "on performance."),
])
def test_takeaway_is_the_result_sentence_not_the_first(abstracts: dict[str, str], paper: str, expected: str) -> None:
    assert takeaway(abstracts[paper]) == expected
    assert not abstracts[paper].startswith(expected)


@pytest.mark.parametrize(("paper", "expected"), [
    ("Unified Multivariate Gaussian Mixture for Efficient Neural Image Compression",
     [("3.18×", "3.18× compression speed up")]),
    ("A-SDM", [("22%", "UNet part of the model is 22% faster"), ("19%", "overall speed is 19% faster")]),
    ("FlashRNN", [("50×", "50× speed-ups over a vanilla PyTorch implementation"), ("40×", "40× larger hidden sizes")]),
    ("Efficient View Synthesis with Neural Radiance Distribution Field", [("~254×", "~254× speed-up over NeRF")]),
    ("dKV-Cache", [("2–10×", "2–10× speedup in inference")]),
    ("PanGu-$π$", [("about 10%", "about 10% inference speed-up")]),  # LaTeX's \%
])
def test_headline_figures(abstracts: dict[str, str], paper: str, expected: list[tuple[str, str]]) -> None:
    assert [(f.value, f.text) for f in figures(abstracts[paper])] == expected


@pytest.mark.parametrize("text", [
    "We use 7x7 depthwise convolutions on 512x512 images.",  # sizes, not speed-ups
    "We remove 40% of the training data.",  # a share, not a result
    "No numbers at all.",
])
def test_no_figure_where_there_is_no_headline(text: str) -> None:
    assert figures(text) == []


def test_sentences_keep_abbreviations_and_decimals_whole() -> None:
    text = "Prior work (e.g. Smith et al. 2020) reaches 3.5 points. We improve it by 2.1 points. dKV-Cache is fast."
    assert sentences(text) == ["Prior work (e.g. Smith et al. 2020) reaches 3.5 points.",
                               "We improve it by 2.1 points.", "dKV-Cache is fast."]


def test_takeaway_falls_back_to_what_the_paper_proposes() -> None:
    text = ("Graphs are everywhere in modern data analysis. Many methods exist for them today. "
            "We propose GraphThing, a method for graphs. It has several parts.")
    assert takeaway(text) == "We propose GraphThing, a method for graphs."
    assert takeaway("") == ""


@pytest.mark.parametrize("release", [
    "Our method outperforms the state of the art and improves accuracy, with code at https://example.org/x.",
    "Our method outperforms the state of the art and improves accuracy; the code is on GitHub.",
])
def test_a_sentence_pointing_at_code_or_a_link_is_not_the_takeaway(release: str) -> None:
    # The release sentence's cues (3 + 2 + 2) would beat the last sentence's (2 + 1, late) by far;
    # pointing at code or a link takes 5 off.
    text = f"Models are large today. {release} Across the suite it is faster on long inputs."
    assert takeaway(text) == "Across the suite it is faster on long inputs."


def test_a_link_and_a_code_release_count_once() -> None:
    # The release sentence scores 3 (outperforms) + 2 (state of the art) + 2 (improves) + 1 (than)
    # - 5 once = 3, above the last sentence's 2 (faster) - 1 (remains) + 1 (late) = 2; were the
    # link and the code counted apart (-10), the last sentence would win.
    text = ("Models are large today. It outperforms the state of the art and improves on everything than before, "
            "code is on github at https://example.org/x. It is faster on every benchmark we tried, but a gap remains.")
    assert takeaway(text).startswith("It outperforms")
