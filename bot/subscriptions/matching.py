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

from bot.subscriptions.topics import query_of
from storage.search import Query, Term
from storage.subscriptions import PaperText, Posting, postings, tokenize

_TOKEN_CACHE_LIMIT = 500_000
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

    @classmethod
    def build(cls, papers: Sequence[PaperText]) -> DigestIndex:
        index = cls(tuple(p.id for p in papers))
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
        # A phrase: the tokens at consecutive positions of one column.
        at = [{(p.paper_id, p.column, p.offset) for form in forms for p in self._where[form]} for forms in options]
        bit = {pid: 1 << i for i, pid in enumerate(self.paper_ids)}
        mask = 0
        for start in at[0]:
            pid, col, offset = start
            if mask & bit[pid] or not candidates & bit[pid] or (term.title_only and col != "title"):
                continue
            if all((pid, col, offset + k) in at[k] for k in range(1, len(at))):
                mask |= bit[pid]
        return mask


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


def match(index: DigestIndex, keys: Sequence[str]) -> dict[str, dict[int, tuple[str, ...]]]:
    """For each canonical topic key that matches something: paper id -> the terms that matched."""
    queries = {key: query_of(key) for key in keys}
    tokens = prepare(queries.values())
    out: dict[str, dict[int, tuple[str, ...]]] = {}
    for key, query in queries.items():
        mask = evaluate(index, query, tokens)
        if mask:
            out[key] = {pid: matched_terms(index, query, tokens, 1 << i)
                        for i, pid in enumerate(index.paper_ids) if mask >> i & 1}
    return out
