"""Candidate phrases of a digest: every 1–3-word phrase inside a clause found in at least two papers.

`themes.candidates` counts them with numpy over numbered stems, a large digest a chunk of papers
at a time; here it is checked against the definition written plainly."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.summary import themes
from storage.summary_stats import stem_words
from tests.bot.summary.test_large_digest import synthetic


def _docs(size: int) -> list[themes.Document]:
    return [themes.Document(1000 + i, r.title, r.abstract) for i, r in enumerate(synthetic(size))]


def _plainly(docs: list[themes.Document], stems: Mapping[str, str], min_papers: int = 2) -> dict[themes.Key, list[int]]:
    """The definition: each paper's words as stems (None where a phrase may not go), its distinct
    runs of 1–3 stems without a None, and the papers holding each, in digest order."""
    papers: dict[themes.Key, list[int]] = {}
    for doc in docs:
        words = [w.lower() for w in themes._TOKEN.findall(f"{doc.title} . {doc.abstract}")]
        seq = [stems[w] if w in stems and themes.usable(w) else None for w in words]
        held = {tuple(seq[i:i + n]) for n in (1, 2, 3) for i in range(len(seq) - n + 1) if None not in seq[i:i + n]}
        for key in held:
            papers.setdefault(key, []).append(doc.paper_id)  # type: ignore[arg-type]
    return {k: ids for k, ids in papers.items() if len(ids) >= min_papers}


def _found(docs: list[themes.Document]) -> tuple[dict[themes.Key, list[int]], dict[str, str]]:
    prepared = themes.prepare(docs)
    stems = stem_words(prepared.shared_words())
    return {k: c.papers for k, c in themes.candidates(prepared, stems).items()}, stems


def test_candidates_are_the_phrases_two_papers_share_in_digest_order() -> None:
    docs = _docs(60)
    found, stems = _found(docs)
    assert found == _plainly(docs, stems)
    assert any(len(k) == 3 for k in found) and all(ids == sorted(ids) for ids in found.values())


def test_a_large_digest_counted_a_chunk_at_a_time_finds_the_same_phrases(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = _docs(150)
    whole, _ = _found(docs)
    monkeypatch.setattr(themes, "KEEP_UP_TO", 32)  # 5 chunks, the last one short
    chunked, _ = _found(docs)
    assert chunked == whole and len(whole) > 500


@pytest.mark.parametrize("texts", [[], [("", "")], [("Alpha beta", ""), ("gamma delta", "")], [("1 2 3", "4 5")]])
def test_digests_with_nothing_shared_have_no_candidates(texts: list[tuple[str, str]]) -> None:
    docs = [themes.Document(i, t, a) for i, (t, a) in enumerate(texts)]
    assert _found(docs)[0] == {}
