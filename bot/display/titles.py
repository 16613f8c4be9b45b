"""How a paper's title is shown to people: the one place that turns a stored title into display text.

The archive keeps a title as its source wrote it (`$\\alpha$-Flow`, `Schr\\"odinger`), since that
is what identity, search and look-up match on. Everything a person reads (search results, /paper
cards and suggestions, the daily post, notifications, the CLI's output) shows `shown_title()`:
TeX written as Unicode ("α-Flow"), control characters dropped, on one line.

Search marks its matches on the stored title; `shown_marked()` carries those marks over to the
shown text, so that a match inside TeX (`alpha` in `$\\alpha$`) marks what it became ("α") and a
mark never starts or ends inside a character and the accents that combine with it.
"""

from __future__ import annotations

import difflib
import unicodedata
from functools import lru_cache

from bot.chat.limits import clean_user_text
from bot.display.tex import has_tex, tex_to_text
from storage.search.fts import Marked

__all__ = ["shown_marked", "shown_title"]

Span = tuple[int, int]


def shown_title(stored: str) -> str:
    """`stored` as shown: TeX as Unicode, control characters dropped, white space collapsed.

    Autocomplete shows 25 titles a keystroke: a title without TeX (most) is only cleaned, and a
    converted one is remembered, since the TeX parser is the expensive part."""
    if has_tex(stored):
        return _converted(stored)
    return " ".join(clean_user_text(stored).split())


@lru_cache(maxsize=8192)
def _converted(stored: str) -> str:
    return " ".join(clean_user_text(tex_to_text(stored)).split())


def shown_marked(stored: Marked) -> Marked:
    """A title marked on its stored text (spans into `stored.text`) as shown: the text is
    `shown_title(stored.text)` and each span covers what its stored characters became."""
    text = shown_title(stored.text)
    if not stored.spans:
        return Marked(text)
    spans = stored.spans if text == stored.text else map_spans(stored.text, text, stored.spans)
    return Marked(text, tidy_spans(text, spans))


def map_spans(before: str, after: str, spans: tuple[Span, ...]) -> tuple[Span, ...]:
    """`spans` ([start, end) offsets into `before`) moved onto `after`, a rewriting of it.

    The two texts are aligned character by character (difflib): kept characters map one to one,
    and characters of `before` rewritten as a whole (`$\\alpha$` as "α") map to all they became.
    A span of nothing but vanished characters (TeX markup) is dropped."""
    where: list[Span | None] = [None] * len(before)
    for op, b1, b2, a1, a2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        for i in range(b1, b2):
            if op == "equal":
                where[i] = (a1 + i - b1, a1 + i - b1 + 1)
            elif op == "replace":
                where[i] = (a1, a2)
    mapped: list[Span] = []
    for start, end in spans:
        covered = [w for w in where[max(start, 0):max(end, 0)] if w is not None]
        if covered:
            mapped.append((min(w[0] for w in covered), max(w[1] for w in covered)))
    return tuple(mapped)


def tidy_spans(text: str, spans: tuple[Span, ...]) -> tuple[Span, ...]:
    """`spans` in order, within `text`, each widened to whole characters (a letter with its
    combining accents) and trimmed of white space at its edges; spans that touch or overlap are
    merged, since two marks side by side would render as one broken mark."""
    out: list[Span] = []
    for start, end in sorted(spans):
        start, end = max(start, 0), min(end, len(text))
        while 0 < start < len(text) and unicodedata.combining(text[start]):
            start -= 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return tuple(out)
