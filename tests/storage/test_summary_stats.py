"""The summary's archive statistics: stems as the index sees them, document counts, the cache."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import summary_stats
from storage.db import Database
from storage.records import PaperRecord, ParsedDigest
from tests.storage.archive_seed import load

pytestmark = pytest.mark.both_backends


async def archive(db: Database, abstracts: list[str]) -> None:
    papers = [PaperRecord(title=f"Paper {i}", abstract=a, arxiv_id=f"2509.{i:05d}") for i, a in enumerate(abstracts)]
    await load(db, ParsedDigest("hf-daily", dt.date(2025, 9, 9), "hf-api", papers))


def test_stems_match_the_index_and_skip_multi_token_words() -> None:
    assert summary_stats.stem_words(["models", "Diffusion", "generalization", "speed-up", "", "études"]) == {
        "models": "model", "Diffusion": "diffus", "generalization": "gener", "études": "etud"}


async def test_a_stem_counts_the_papers_holding_the_words_it_was_made_from(db: Database) -> None:
    """The summary's stems are porter stems on both backends; PostgreSQL's index holds its own
    ('english': "generation" -> 'generat', "general" -> 'general', where porter makes both "gener"),
    so there a stem is counted through its words. Either way: the papers with any of them."""
    await archive(db, ["generation of images", "a general method", "diffusion models", "the models"])
    stems = summary_stats.stem_words(["generation", "general", "models", "diffusion", "the"])
    assert stems == {"generation": "gener", "general": "gener", "models": "model", "diffusion": "diffus",
                     "the": "the"}
    words: dict[str, set[str]] = {}
    for word, stem in stems.items():
        words.setdefault(stem, set()).add(word)
    counts = await summary_stats.term_document_counts(db, {"gener", "model", "diffus", "absent"}, cache=False,
                                                      words=words)
    assert counts == {"gener": 2, "model": 2, "diffus": 1}


async def test_term_document_counts_live(db: Database) -> None:
    await archive(db, ["diffusion models", "diffusion", "graph models"])
    counts = await summary_stats.term_document_counts(db, {"diffus", "model", "absent"})
    assert counts == {"diffus": 2, "model": 2}
    assert await summary_stats.archive_size(db) == 3


async def test_common_terms_are_cached_and_scaled_until_stale(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await archive(db, ["diffusion models", "diffusion", "graph"])
    monkeypatch.setattr(summary_stats, "_COMMON_MIN", 2)
    assert await summary_stats.term_document_counts(db, {"diffus", "graph"}) == {"diffus": 2, "graph": 1}
    assert await summary_stats.cached_term_counts(db, ["diffus", "graph"]) == [("diffus", 2, 3)]  # only the common one
    # A cached count is believed (and scaled to the archive's size) rather than recounted...
    await summary_stats.save_term_counts(db, [("diffus", 300, 300)])
    assert await summary_stats.term_document_counts(db, {"diffus"}, archive_papers=330) == {"diffus": 330}
    # ...until the archive has grown by more than a fifth: then it is counted again (and saved).
    assert await summary_stats.term_document_counts(db, {"diffus"}, archive_papers=400) == {"diffus": 2}
    assert await summary_stats.cached_term_counts(db, ["diffus"]) == [("diffus", 2, 400)]
    assert await summary_stats.term_document_counts(db, {"diffus"}, cache=False, archive_papers=330) == {"diffus": 2}


async def test_stale_counts_are_recounted_a_few_at_a_time(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A grown archive does not make one summary recount every common term: the stalest few are
    recounted, the others are used scaled to the archive's size until their turn comes."""
    await archive(db, ["diffusion models", "diffusion graph", "graph models"])
    monkeypatch.setattr(summary_stats, "_RECOUNTS_PER_CALL", 1)
    await summary_stats.save_term_counts(db, [("diffus", 10, 10), ("graph", 20, 100)])
    # Size 50: "diffus" counted at 10 (5x ago) is the stalest and is recounted; "graph" (counted at
    # 100, the archive has since shrunk) is used scaled: 20 * 50 / 100.
    assert await summary_stats.term_document_counts(db, {"diffus", "graph"}, archive_papers=50) == {
        "diffus": 2, "graph": 10}
    assert await summary_stats.term_document_counts(db, {"diffus", "graph"}, archive_papers=50) == {
        "diffus": 2, "graph": 2}
    assert await summary_stats.cached_term_counts(db, ["diffus", "graph", "absent"]) == [
        ("diffus", 2, 50), ("graph", 2, 50)]


async def test_phrases_are_counted_exactly_and_the_costly_ones_cached(db: Database,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A phrase's count is the papers holding its words side by side (not its rarest word's count);
    a phrase of a word in no paper is in none; one of common words is kept like a common term."""
    await archive(db, ["neural networks learn", "a network of neural cells", "neural network pruning",
                       "networks"])
    stems = summary_stats.stem_words(["neural", "networks", "network", "learn", "absent"])
    words: dict[str, set[str]] = {}
    for word, stem in stems.items():
        words.setdefault(stem, set()).add(word)
    terms = await summary_stats.term_document_counts(db, set(words), words=words, cache=False)
    assert terms == {"neural": 3, "network": 4, "learn": 1}
    monkeypatch.setattr(summary_stats, "_COMMON_MIN", 3)
    phrases = {("neural", "network"), ("network", "neural"), ("neural", "network", "learn"), ("neural",),
               ("absent", "network")}
    counts = await summary_stats.phrase_document_counts(db, phrases, words=words, term_counts=terms)
    assert counts == {("neural", "network"): 2, ("network", "neural"): 0, ("neural", "network", "learn"): 1,
                      ("neural",): 3, ("absent", "network"): 0}
    # Only the phrases of common words (both in >= 3 papers) are kept, under their stems' key.
    assert await summary_stats.cached_term_counts(db, ["neural network", "network neural", "neural network learn"]
                                                  ) == [("network neural", 0, 4), ("neural network", 2, 4)]
    await summary_stats.save_term_counts(db, [("neural network", 40, 4)])
    assert (await summary_stats.phrase_document_counts(db, phrases, words=words, term_counts=terms)
            )[("neural", "network")] == 40
    assert (await summary_stats.phrase_document_counts(db, phrases, words=words, term_counts=terms, cache=False)
            )[("neural", "network")] == 2


async def test_counts_are_saved_as_they_are_taken(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long count cut short (the bot stopping mid-way) keeps what it counted before the cut."""
    await archive(db, ["diffusion models", "diffusion graph", "graph models", "graph kernels"])
    monkeypatch.setattr(summary_stats, "_COMMON_MIN", 1)
    monkeypatch.setattr(summary_stats, "_TERMS_PER_STATEMENT", 1)
    monkeypatch.setattr(summary_stats, "_SAVE_EVERY", 1)
    calls = 0
    live = summary_stats.live_term_counts

    async def cut_after_two(db: Database, terms: list[str], words: object = None) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise RuntimeError("stopped")
        return await live(db, terms)

    monkeypatch.setattr(summary_stats, "live_term_counts", cut_after_two)
    with pytest.raises(RuntimeError):
        await summary_stats.term_document_counts(db, {"diffus", "graph", "kernel", "model"})
    assert await summary_stats.cached_term_counts(db, ["diffus", "graph", "kernel", "model"]) == [
        ("diffus", 2, 4), ("graph", 3, 4)]


async def test_old_phrase_counts_no_recent_digest_uses_are_evicted(db: Database) -> None:
    """Phrases come and go with the digests: counts of phrases taken before the cut and not kept
    are forgotten; single terms, recent counts and the phrases kept stay."""
    old, new = dt.datetime(2025, 8, 1, tzinfo=dt.UTC), dt.datetime(2025, 9, 8, tzinfo=dt.UTC)
    await summary_stats.save_term_counts(db, [("graph kernel", 5, 100), ("neural network", 9, 100),
                                              ("diffus", 40, 100), ("old phrase gone", 3, 100)], now=old)
    await summary_stats.save_term_counts(db, [("fresh phrase", 2, 100)], now=new)
    cut = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    assert await summary_stats.evict_phrase_counts(db, counted_before=cut, keep={"neural network"}) == 2
    kept = ["graph kernel", "neural network", "diffus", "old phrase gone", "fresh phrase"]
    assert [t for t, _, _ in await summary_stats.cached_term_counts(db, kept)] == [
        "diffus", "fresh phrase", "neural network"]
    assert await summary_stats.evict_phrase_counts(db, counted_before=cut, keep={"neural network"}) == 0
    assert await summary_stats.evict_phrase_counts(db, counted_before=cut + dt.timedelta(days=30)) == 2
