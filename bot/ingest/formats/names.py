"""Author names as people write them: TeX accents to Unicode, affiliations stripped, non-names dropped.

Real digests carry `Bal\\'azs` and `Przemys{\\l}aw` (arXiv metadata and RSS), affiliation blocks
glued to names (`N. Nagaosa (1 and 3) ((1) CREST …)`, `Debo Cheng (University of South
Australia)`), and entries that are not names at all: "et al", or a lone ":" in arXiv's own Atom.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.display.tex import has_tex, tex_to_text

_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# An affiliation cut off before its closing parenthesis: everything from the first bracket on goes. No
# leading \s* (a search over a long run of spaces would be quadratic, issue 21): spaces are collapsed after.
_UNCLOSED = re.compile(r"[(\[].*", re.DOTALL)
_NOT_NAMES = frozenset({"et al", "et al.", "et. al.", "and others", "others", "et al..", "al", "al."})
_HYPHENED_INITIAL = re.compile(r"\.\s+-")
_EDGE = " \t,;:·-–—"


def clean_author(name: str) -> str | None:
    """The person (or collaboration) `name` names, readable; None when it names nobody."""
    text = tex_to_text(name) if has_tex(name) else name
    if "(" in text or "[" in text:
        previous = None
        while previous != text:  # nested blocks: "((1) CREST, (2) ...)"
            previous, text = text, _BRACKETED.sub(" ", text)
        text = _UNCLOSED.sub("", text, count=1)
    text = " ".join(text.split()).strip(_EDGE)
    if text.lower().startswith("and "):
        text = text[4:].strip(_EDGE)
    if not text or text.lower() in _NOT_NAMES or not any(ch.isalpha() for ch in text):
        return None
    return text


def clean_authors(names: Iterable[str]) -> list[str]:
    """`clean_author` of each name, the non-names dropped, a name listed twice kept once."""
    found: list[str] = []
    seen: set[str] = set()
    for name in names:
        cleaned = clean_author(name)
        if cleaned is not None and cleaned not in seen:
            seen.add(cleaned)
            found.append(cleaned)
    return found


def parsed_name(parts: object) -> str | None:
    """One `authors_parsed` entry of the arXiv snapshot, `[last, first, suffix, affiliation…]`, as
    "First Last Suffix" (the affiliation left out); None when it is not such a list."""
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts[:3]):
        return None
    last, first, suffix = (list(parts[:3]) + ["", ""])[:3]
    first = _HYPHENED_INITIAL.sub(".-", first)  # the snapshot writes "C.-P." as "C. -P."
    return " ".join(" ".join((first, last, suffix)).split()) or None
