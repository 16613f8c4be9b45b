"""Composing a summary: themes against a known archive, highlights, new papers, groups."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.summary import compose, themes
from bot.summary.compose import OTHER
from storage.db import Database
from storage.records import DigestInfo, PaperRecord
from tests.bot.summary.conftest import load

D1, D2 = dt.date(2025, 9, 1), dt.date(2025, 9, 2)

pytestmark = pytest.mark.both_backends


def rec(n: int, title: str, abstract: str, **kw: object) -> PaperRecord:
    return PaperRecord(title=title, abstract=abstract, arxiv_id=f"2509.{n:05d}", **kw)  # type: ignore[arg-type]


def archive_papers() -> list[PaperRecord]:
    """Sixty older papers, all about neural networks on graphs."""
    return [rec(i, f"Graph Neural Networks for Molecule Task {i}",
                f"We study neural networks on molecular graphs for benchmark {i}. Neural networks generalise well.")
            for i in range(60)]


def day_papers(*, with_old: bool = False) -> list[PaperRecord]:
    abstracts = ["Our diffusion models beat GANs on faces.", "Sampling from diffusion models needs fewer steps.",
                 "We scale diffusion models to video.", "Distilled diffusion models run on phones."]
    papers = [rec(100 + i, f"Diffusion Models for Image Synthesis {i}", text, upvotes=i,
                  keywords=["diffusion", "image synthesis"]) for i, text in enumerate(abstracts)]
    others = ["Neural networks are studied again.", "Why neural networks forget.", "Pruned neural networks."]
    papers += [rec(200 + i, f"Revisiting Classifiers {i}", text, upvotes=10 + i) for i, text in enumerate(others)]
    papers += [rec(300, "Quantum Error Correction", "Surface codes protect qubits.", keywords=["diffusion"]),
               rec(301, "Protein Folding Kinetics", "Chaperones fold proteins.")]
    if with_old:
        papers.append(archive_papers()[0])
    return papers


async def test_themes_are_what_is_unusual_compared_with_the_archive(db: Database) -> None:
    await load(db, archive_papers(), D1)
    summary = await compose(db, await load(db, day_papers(), D2))
    labels = [t.label for t in summary.themes]
    assert labels[0] == "diffusion models"  # lower case, as the abstracts write it
    assert summary.themes[0].papers == 4
    assert not any("neural" in label.lower() for label in labels)  # frequent today, but always frequent


async def test_themes_follow_the_exact_counts_of_phrases_whose_words_are_common(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every archive paper says "graph" and "kernel", none "graph kernel": the phrase is new today
    though both its words are everywhere. Rated by its rarest word's count it looked as common as
    "graph"; rated by its exact count (none outside today's papers) it is the day's theme."""
    await load(db, [rec(i, f"Molecule Study {i}", f"Graph methods and kernel methods for molecule {i}.")
                    for i in range(300)], D1)
    texts = ["Graph kernels compare molecules.", "Fast graph kernels for proteins.", "Graph kernels, revisited.",
             "Tides move sand.", "Owls hunt mice.", "Bees dance."]
    names = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]
    digest = await load(db, [rec(500 + i, names[i], text) for i, text in enumerate(texts)], D2)
    summary = await compose(db, digest)
    assert [(t.label.lower(), t.papers) for t in summary.themes] == [("graph kernels", 3)]
    assert [t.label.lower() for t in (await compose(db, digest, cache=False)).themes] == ["graph kernels"]
    # Past `EXACT_COUNTS` candidates (a huge digest) a phrase keeps its rarest word's count: here, no theme.
    monkeypatch.setattr(themes, "EXACT_COUNTS", 0)
    assert (await compose(db, digest, cache=False)).themes == ()


async def test_with_an_empty_archive_themes_are_the_frequent_phrases(db: Database) -> None:
    summary = await compose(db, await load(db, day_papers(), D2))
    labels = [t.label.lower() for t in summary.themes]
    assert labels[0] == "diffusion models"
    assert "neural networks" in labels  # nothing says it is common: the archive is empty
    assert all(t.papers >= 2 for t in summary.themes)


async def test_one_word_family_is_one_theme_and_generic_words_are_none(db: Database) -> None:
    """"speed" and "speedup" (stems the stemmer leaves apart) do not take two of the six places,
    and "challenges" or "address", in every other abstract, are never a theme."""
    texts = ["A 3x speedup at the same speed budget addresses key challenges.",
             "Speedup of decoding; speed matters and challenges remain to address.",
             "We report speedup and speed gains and address challenges of caching."]
    papers = [rec(400 + i, f"Fast Decoding {i}", text) for i, text in enumerate(texts)]
    await load(db, papers, D2)
    # The selection itself: the summary shows each paper under one theme only, and here the first
    # theme takes all three.
    docs = [themes.Document(400 + i, p.title, p.abstract) for i, p in enumerate(papers)]
    labels = [t.label.lower() for t in await themes.find(db, docs)]
    assert ("speedup" in labels) != ("speed" in labels), labels
    assert not {"challenges", "address"} & set(labels), labels


async def test_header_counts_new_papers_and_keywords(db: Database) -> None:
    await load(db, archive_papers(), D1)
    summary = await compose(db, await load(db, day_papers(with_old=True), D2))
    assert (summary.papers, summary.new) == (10, 9)
    assert summary.keywords == (("diffusion", 5), ("image synthesis", 4))


async def test_highlights_by_upvotes_with_takeaway_and_links(db: Database) -> None:
    summary = await compose(db, await load(db, day_papers(), D2), highlights=2)
    assert summary.ranked_by == "upvotes"
    assert [h.paper.upvotes for h in summary.highlights] == [12, 11]
    assert summary.highlights[0].paper.links["arxiv"] == "https://arxiv.org/abs/2509.00202"


async def test_highlights_follow_the_source_order_without_upvotes(db: Database, sample: DigestInfo) -> None:
    summary = await compose(db, sample, highlights=3)
    assert summary.ranked_by == "source order"
    assert [h.paper.title.split(":")[0] for h in summary.highlights] == [
        "Unified Multivariate Gaussian Mixture for Efficient Neural Image Compression", "A-SDM", "BIOptimus"]
    assert summary.highlights[0].paper.links["code"] == "https://github.com/xiaosu-zhu/McQuic"


async def test_every_paper_is_listed_once_with_other_last(db: Database, sample: DigestInfo) -> None:
    summary = await compose(db, sample)
    listed = [p.paper_id for g in summary.groups for p in g.papers]
    assert len(listed) == len(set(listed)) == 144
    assert [g.label for g in summary.groups][:-1] == [t.label for t in summary.themes][:len(summary.groups) - 1]
    assert OTHER not in [g.label for g in summary.groups][:-1]


async def test_the_same_archive_gives_the_same_summary(db: Database, sample: DigestInfo) -> None:
    assert await compose(db, sample) == await compose(db, sample)


async def test_the_sample_digest_has_the_same_themes_on_either_backend(db: Database, sample: DigestInfo) -> None:
    """Porter stems group the phrases on both; PostgreSQL counts each stem through its words."""
    summary = await compose(db, sample)
    assert [(t.label, len(t.paper_ids)) for t in summary.themes] == [
        ("language models", 61), ("speedup", 38), ("optimization", 17), ("inference", 7), ("scaling", 11)]
