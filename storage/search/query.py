"""The search query language: parsing user text into a small AST, and compiling it to FTS5.

Syntax (see docs/search.md): words must all match (stemmed); "exact phrases"; -excluded
words or phrases; `a OR b` between two words; `prefix*`; `title:word` or `title:"a phrase"` to
look in titles only. Everything else is a plain word. Parsing never fails on odd input: the only
errors are `QueryError`s with a short message a user can act on (nothing to search for, only
exclusions, too long, a prefix too short to be useful).

User text never reaches FTS5 as syntax: each term is emitted as an FTS5 string (double quotes,
inner quotes doubled), so FTS5 only ever sees the operators this module writes. The AST is what
topic subscriptions store and validate, so it round-trips: `parse(str(q)) == q`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

MAX_QUERY_CHARS = 1000
MAX_WORDS = 32
MIN_PREFIX_CHARS = 2  # `a*` would expand to most of the vocabulary and read every doclist


class QueryError(ValueError):
    """A query that cannot be searched; `str(exc)` is a short message for the user."""


@dataclass(frozen=True, slots=True)
class Term:
    """One word or phrase, matched as FTS5 tokenises it: `gpt-4` and `"gpt 4"` are the same
    two-word phrase, so quoting is not recorded; `str()` adds quotes where the text needs them."""

    text: str
    prefix: bool = False  # typed with a trailing *: matches words starting with the last word
    title_only: bool = False  # typed as title:…

    def __str__(self) -> str:
        body = f'"{self.text}"' if _needs_quotes(self.text) else self.text
        return ("title:" if self.title_only else "") + body + ("*" if self.prefix else "")

    def to_fts5(self, *, with_column: bool = True, expansion: tuple[str, ...] | None = None) -> str:
        """This term as FTS5 syntax. `expansion`: for a prefix term, the phrases it matches in the
        index (storage.sqlite.search.index_cache), written as an OR instead of the prefix; a phrase
        ending in * is itself a prefix phrase (index words hold no *)."""
        if expansion:
            phrases = ['"' + p.removesuffix("*").replace('"', '""') + '"' + (" *" if p.endswith("*") else "")
                       for p in expansion]
            out = phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")"
        else:
            out = '"' + self.text.replace('"', '""') + '"' + (" *" if self.prefix else "")
        if self.title_only and with_column:
            out = "title : " + out
        return out


@dataclass(frozen=True, slots=True)
class AnyOf:
    """A required clause: at least one of its terms must match (`a OR b`)."""

    terms: tuple[Term, ...]

    def __str__(self) -> str:
        return " OR ".join(str(t) for t in self.terms)


@dataclass(frozen=True, slots=True)
class Query:
    """Every `required` clause must match and no `excluded` term may."""

    required: tuple[AnyOf, ...]
    excluded: tuple[Term, ...] = ()

    def __str__(self) -> str:
        return " ".join([str(c) for c in self.required] + ["-" + str(t) for t in self.excluded])

    def positive_terms(self) -> tuple[Term, ...]:
        return tuple(t for clause in self.required for t in clause.terms)

    def to_fts5(self, expansions: Mapping[Term, tuple[str, ...] | None] | None = None) -> str:
        """The FTS5 MATCH expression: fully parenthesised, every term a quoted string; prefix terms
        in `expansions` are written as the phrases they stand for (see Term.to_fts5)."""
        return _join(self.required, self.excluded, expansions or {})

    def title_filter_fts5(self, expansions: Mapping[Term, tuple[str, ...] | None] | None = None) -> str | None:
        """This query, further restricted to papers whose title holds one of its positive terms
        (prefix terms in `expansions` written out, as in to_fts5).

        None when every positive term is already title-only (the query itself is that filter).
        """
        terms = self.positive_terms()
        if all(t.title_only for t in terms):
            return None
        found = expansions or {}
        in_title = " OR ".join(t.to_fts5(with_column=False, expansion=found.get(t)) for t in terms)
        return f"({self.to_fts5(found)}) AND (title : ({in_title}))"


def _join(required: tuple[AnyOf, ...], excluded: tuple[Term, ...],
          expansions: Mapping[Term, tuple[str, ...] | None]) -> str:
    clauses = []
    for clause in required:
        parts = [t.to_fts5(expansion=expansions.get(t)) for t in clause.terms]
        clauses.append(parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")")
    expr = " AND ".join(clauses)
    if excluded:
        expr = f"({expr}) NOT ({' OR '.join(t.to_fts5(expansion=expansions.get(t)) for t in excluded)})"
    return expr


def is_word_char(ch: str) -> bool:
    """What FTS5's unicode61 tokenizer keeps by default (categories L*, N*, Co); all else separates."""
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Co"


def words_in(text: str) -> list[str]:
    """The words FTS5 will see in `text` (before case folding and stemming)."""
    found: list[str] = []
    current: list[str] = []
    for ch in text:
        if is_word_char(ch):
            current.append(ch)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def _needs_quotes(text: str) -> bool:
    return (any(ch.isspace() or ch in '"*' for ch in text) or text.startswith("-") or text == "OR"
            or text.lower().startswith("title:"))


# -- lexing -------------------------------------------------------------------------------------

_OR = object()  # the OR operator between two terms


@dataclass(slots=True)
class _Item:
    term: Term
    excluded: bool


def _lex(text: str) -> list[_Item | object]:
    items: list[_Item | object] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        excluded = title_only = False
        start = i
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            excluded = True
            i += 1
        if text[i:i + 6].lower() == "title:" and i + 6 < n and not text[i + 6].isspace():
            title_only = True
            i += 6
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:  # an unbalanced quote runs to the end of the query
                end = n
            body, i = text[i + 1:end], end + 1
            prefix = i < n and text[i] == "*"
            while i < n and text[i] == "*":
                i += 1
            term = Term(" ".join(body.split()), prefix=prefix, title_only=title_only)
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] != '"':
                j += 1
            body, i = text[i:j], j
            if body == "OR" and not excluded and not title_only and start == j - 2:
                items.append(_OR)
                continue
            stripped = body.rstrip("*")
            term = Term(stripped, prefix=stripped != body, title_only=title_only)
        if words_in(term.text):  # punctuation or emoji alone: nothing FTS5 could match
            items.append(_Item(term, excluded))
    return items


def parse(text: str) -> Query:
    """Parse what a user typed. Raises QueryError when there is nothing sensible to search for."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the search is too long ({len(text):,} characters); keep it under {MAX_QUERY_CHARS:,}")
    # Control characters (NUL ends an FTS5 string early) and lone surrogates (not encodable) are spaces.
    items = _lex("".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text))
    required: list[list[Term]] = []
    excluded: list[Term] = []
    joining = False  # the previous item was an OR that follows a required term
    previous: _Item | object | None = None
    for item in items:
        if item is _OR:
            joining = bool(required) and not joining and isinstance(previous, _Item) and not previous.excluded
        else:
            assert isinstance(item, _Item)
            if item.excluded:
                excluded.append(item.term)
            elif joining:
                required[-1].append(item.term)
            else:
                required.append([item.term])
            joining = False
        previous = item
    # A dangling OR (first, last, doubled, or next to an exclusion) is dropped: the user meant an operator.
    clauses = dict.fromkeys(AnyOf(tuple(dict.fromkeys(c))) for c in required)
    query = Query(tuple(clauses), tuple(dict.fromkeys(excluded)))
    _check(query)
    return query


def _check(query: Query) -> None:
    if not query.required:
        if query.excluded:
            raise QueryError("add a word to look for: a search cannot be only -exclusions")
        raise QueryError("nothing to search for: type some words (letters or digits)")
    terms = query.positive_terms() + query.excluded
    count = sum(len(words_in(t.text)) for t in terms)
    if count > MAX_WORDS:
        raise QueryError(f"too many words in the search ({count}); use at most {MAX_WORDS}")
    for t in terms:
        if t.prefix and len(words_in(t.text)[-1]) < MIN_PREFIX_CHARS:
            raise QueryError(f"'{t}' is too short for a prefix search: "
                             f"give at least {MIN_PREFIX_CHARS} letters before the *")
