"""Which of a digest's papers each topic matches, with FTS5's semantics and without FTS5 per topic.

The baseline — one FTS5 query per topic restricted to the digest — costs a doclist walk per term
per topic. Here the digest's papers are tokenized once (by SQLite's own tokenizer, in memory:
storage.subscriptions.postings), every paper gets a bit, and each distinct term becomes a bitmask
of the papers holding it; a topic is then a few integer ANDs, ORs and AND-NOTs. Terms recur across
topics, so each distinct term is resolved once per digest, and its tokens once per process.

Semantics, as FTS5 evaluates Query.to_fts5(): a word matches a paper holding its token in the
title or abstract (`title:` — in the title); a phrase needs its tokens at consecutive positions of
one column; `prefix*` matches any token starting with the last token; every required clause must
have a matching term and no excluded term may match. Tests compare this with FTS5 itself.

Cost: O(tokens in the digest) to build, then per distinct term one dict look-up (a phrase also
walks its first token's occurrences; a prefix, a binary search over the digest's vocabulary), and
per distinct topic O(its terms) big-int operations on P-bit masks. Linear in distinct topics,
near-linear in papers.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.subscriptions.topics import query_of
from storage.search import Query, Term
from storage.subscriptions import PaperText, Posting, postings, tokenize

_TOKEN_CACHE_LIMIT = 500_000
_COLUMN_SHIFT = 19  # positions: offset below this bit (abstracts are far shorter than 2**19 tokens)
_PAPER_SHIFT = 20
_tokens: dict[str, tuple[str, ...]] = {}  # term text -> its tokens, for the process's lifetime


def tokens_of(texts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Tokens of each text, tokenizing only those not seen before (one batch for all of them)."""
    wanted = set(texts)
    missing = [t for t in wanted if t not in _tokens]
    if missing:
        if len(_tokens) + len(missing) > _TOKEN_CACHE_LIMIT:
            _tokens.clear()
        _tokens.update(tokenize(missing))
    return {t: _tokens[t] for t in wanted}


@dataclass(slots=True)
class DigestIndex:
    """A few papers' tokens as bitmasks: bit i stands for `paper_ids[i]`."""

    paper_ids: tuple[int, ...]
    _any: dict[str, int] = field(default_factory=dict)  # token -> papers holding it anywhere
    _title: dict[str, int] = field(default_factory=dict)  # token -> papers holding it in the title
    _where: dict[str, list[Posting]] = field(default_factory=dict)
    _vocab: list[str] = field(default_factory=list)  # sorted, for prefixes
    _terms: dict[Term, int] = field(default_factory=dict)  # resolved terms, per digest
    _at: dict[str, set[int]] = field(default_factory=dict)  # token -> positions, see _positions
    _index: dict[int, int] = field(default_factory=dict)  # paper id -> bit index

    @classmethod
    def build(cls, papers: Sequence[PaperText]) -> DigestIndex:
        index = cls(tuple(p.id for p in papers))
        index._index = {pid: i for i, pid in enumerate(index.paper_ids)}
        bit = {pid: 1 << i for i, pid in enumerate(index.paper_ids)}
        index._where = postings(papers)
        for token, found in index._where.items():
            anywhere = title = 0
            for p in found:
                anywhere |= bit[p.paper_id]
                if p.column == "title":
                    title |= bit[p.paper_id]
            index._any[token] = anywhere
            index._title[token] = title
        index._vocab = sorted(index._where)
        return index

    @property
    def everything(self) -> int:
        return (1 << len(self.paper_ids)) - 1

    def papers(self, mask: int) -> list[int]:
        return [pid for i, pid in enumerate(self.paper_ids) if mask >> i & 1]

    def _expand(self, token: str, prefix: bool) -> list[str]:
        if not prefix:
            return [token] if token in self._any else []
        start = bisect.bisect_left(self._vocab, token)
        end = start
        while end < len(self._vocab) and self._vocab[end].startswith(token):
            end += 1
        return self._vocab[start:end]

    def _positions(self, token: str) -> set[int]:
        """Where a token occurs, each as one int: paper bit index, column (1: abstract), offset."""
        found = self._at.get(token)
        if found is None:
            found = self._at[token] = {
                (self._index[p.paper_id] << _PAPER_SHIFT) | ((p.column != "title") << _COLUMN_SHIFT) | p.offset
                for p in self._where[token]}
        return found

    def term_mask(self, term: Term, tokens: tuple[str, ...]) -> int:
        """The papers `term` matches, given its tokens."""
        found = self._terms.get(term)
        if found is None:
            found = self._resolve(term, tokens)
            self._terms[term] = found
        return found

    def _resolve(self, term: Term, tokens: tuple[str, ...]) -> int:
        if not tokens:
            return 0
        masks = self._title if term.title_only else self._any
        # Candidates: papers holding every token (the last one possibly as a prefix).
        options = [self._expand(t, term.prefix and i == len(tokens) - 1) for i, t in enumerate(tokens)]
        candidates = self.everything
        for forms in options:
            m = 0
            for form in forms:
                m |= masks[form]
            candidates &= m
            if not candidates:
                return 0
        if len(tokens) == 1:
            return candidates
        # A phrase: token k at position start + k of the same column, for some start. Positions are
        # ints (see _positions), so shifting each token's set back by k and intersecting runs in C.
        found: set[int] | None = None
        for k, forms in enumerate(options):
            at = set().union(*(self._positions(f) for f in forms)) if len(forms) != 1 else self._positions(forms[0])
            shifted = {p - k for p in at} if k else at
            found = shifted if found is None else found & shifted
            if not found:
                return 0
        mask = 0
        for position in found or ():
            if not (term.title_only and position >> _COLUMN_SHIFT & 1):
                mask |= 1 << (position >> _PAPER_SHIFT)
        return mask & candidates


def prepare(queries: Iterable[Query]) -> dict[str, tuple[str, ...]]:
    """Tokens of every term of `queries` (from the process cache where possible)."""
    return tokens_of(t.text for q in queries for t in q.positive_terms() + q.excluded)


def evaluate(index: DigestIndex, query: Query, tokens: dict[str, tuple[str, ...]]) -> int:
    """The papers `query` matches, as a mask."""
    mask = index.everything
    for clause in query.required:
        any_of = 0
        for term in clause.terms:
            any_of |= index.term_mask(term, tokens[term.text])
        mask &= any_of
        if not mask:
            return 0
    for term in query.excluded:
        mask &= ~index.term_mask(term, tokens[term.text])
    return mask


Tokens = dict[str, tuple[str, ...]]


def matched_terms(index: DigestIndex, query: Query, tokens: Tokens, paper_bit: int) -> tuple[str, ...]:
    """The query's positive terms (as it writes them) found in the paper with this bit."""
    return tuple(str(t) for t in query.positive_terms() if index.term_mask(t, tokens[t.text]) & paper_bit)


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic's matches in one digest: the papers (a mask over DigestIndex.paper_ids) and, for
    showing which words matched, each positive term with the papers it was found in."""

    mask: int
    terms: tuple[tuple[str, int], ...]

    def hits(self, paper_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """paper id -> the terms found in it, for every matched paper."""
        out: dict[int, tuple[str, ...]] = {}
        rest = self.mask
        while rest:
            low = rest & -rest
            out[paper_ids[low.bit_length() - 1]] = tuple(t for t, m in self.terms if m & low)
            rest ^= low
        return out


@lru_cache(maxsize=_TOKEN_CACHE_LIMIT)
def _written(term: Term) -> str:
    """`str(term)`, kept: thousands of matched topics a digest write their terms out."""
    return str(term)


def match(index: DigestIndex, keys: Sequence[str]) -> dict[str, TopicMatch]:
    """The topics (canonical keys) that match at least one of the index's papers."""
    queries = {key: query_of(key) for key in keys}
    tokens = prepare(queries.values())
    out: dict[str, TopicMatch] = {}
    for key, query in queries.items():
        mask = evaluate(index, query, tokens)
        if mask:
            terms = tuple(dict.fromkeys((_written(t), index.term_mask(t, tokens[t.text]))
                                        for t in query.positive_terms()))
            out[key] = TopicMatch(mask, terms)
    return out


def match_one(index: DigestIndex, key: str) -> dict[int, tuple[str, ...]]:
    """One topic's matches: paper id -> the terms found in it (empty when none match)."""
    found = match(index, [key]).get(key)
    return found.hits(index.paper_ids) if found else {}
