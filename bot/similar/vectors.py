"""A paper's TF-IDF vector, cut to its heaviest terms, and the arithmetic on such vectors.

Weights as arxiv-sanity-lite's TfidfVectorizer (sublinear tf, smooth idf): (1 + ln tf) ×
(ln((1 + N) / (1 + df)) + 1). Terms that cannot tell papers apart are left out: one no other paper
has (nothing to match) and, once the corpus has `MIN_CORPUS` papers, one in more than a tenth of
them (arxiv-sanity's max_df). Of the rest, the `TOP_TERMS` heaviest are kept and scaled to unit
length, stored as integers in 1/SCALE (storage/similar.py): so a dot product of two stored vectors
is the cosine of the cut vectors, times SCALE².

The document frequencies are those at the time the paper is weighed (a load counts its new papers
in first): IDF drifts slowly as the archive grows; the bot's catch-up weighs again a vector
weighed against fewer than half of today's papers (bot/similar/backfill.py), and `paperboy similar
--rebuild` weighs every paper again against today's frequencies.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from storage.similar import SCALE, TermWeights

TOP_TERMS = 32
MAX_DF_SHARE = 0.1
MIN_CORPUS = 50


def weigh(counts: Counter[str], stats: Mapping[str, tuple[int, int]], corpus: int, *,
          counted: bool = True) -> TermWeights:
    """The paper's vector from its term counts and {term: (id, df)}. `counted`: the paper is in
    the frequencies itself (so a df of 1 is only itself), else it is weighed from outside."""
    least = 2 if counted else 1
    most = MAX_DF_SHARE * corpus if corpus >= MIN_CORPUS else math.inf
    weighed: list[tuple[float, int]] = []
    for term, tf in counts.items():
        found = stats.get(term)
        if found is None:
            continue
        term_id, df = found
        if df < least or df > most:
            continue
        weighed.append(((1.0 + math.log(tf)) * (math.log((1 + corpus) / (1 + df)) + 1.0), term_id))
    weighed.sort(key=lambda x: (-x[0], x[1]))
    kept = weighed[:TOP_TERMS]
    norm = math.sqrt(sum(w * w for w, _ in kept))
    if not norm:
        return []
    out = [(term_id, round(w / norm * SCALE)) for w, term_id in kept]
    return [(t, w) for t, w in out if w > 0]


def dot(a: TermWeights | Mapping[int, float], b: TermWeights) -> float:
    """The dot product of a vector (or a mapping term id → weight) with a stored vector."""
    first = a if isinstance(a, Mapping) else dict(a)
    return sum(first.get(t, 0) * w for t, w in b)


def contributions(a: Mapping[int, float], b: TermWeights) -> list[tuple[int, float]]:
    """The terms `a` and `b` share, by what each adds to their dot product, most first."""
    shared = [(t, a[t] * w) for t, w in b if t in a]
    shared.sort(key=lambda x: (-x[1], x[0]))
    return shared


def centroid(vectors: list[TermWeights]) -> dict[int, float]:
    """The mean direction of some stored vectors, at unit length in 1/SCALE (a user's profile)."""
    total: dict[int, float] = {}
    for vector in vectors:
        for t, w in vector:
            total[t] = total.get(t, 0.0) + w
    norm = math.sqrt(sum(w * w for w in total.values()))
    return {t: w / norm * SCALE for t, w in total.items()} if norm else {}
