"""TeX in titles and names turned into readable Unicode text, by pylatexenc (a maintained library).

Sources write names and titles as TeX: `Bal\\'azs`, `Przemys{\\l}aw`, `$\\beta$-OPSD`, `PanGu-$\\pi$`.
The archive keeps titles as the source wrote them (that is what matching and identity use) and
shows them through `tex_to_text`; author names are stored converted.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

# Characters that are plain text in a digest but special to TeX: a bare `%` starts a comment
# (it would swallow the rest of "50% faster"), a bare `&` is an alignment tab (it becomes spaces).
_PLAIN_SPECIALS = re.compile(r"(?<!\\)([%&#])")
_WORDS = re.compile(r"\S+\s*|\s+")  # a word with the white space after it (or leading white space)
_CONTROL_WORD_END = re.compile(r"(?<!\\)\\[A-Za-z]+$")
_TIE = re.compile(r"\S~\S")  # "fine-tuning~(SFT)"; a leading "~24x" means "about"


@lru_cache(maxsize=1)
def _converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


def has_tex(text: str) -> bool:
    """Whether `text` has anything TeX would change (a command, math or a group)."""
    return "\\" in text or "$" in text or "{" in text


def tex_to_text(text: str) -> str:
    """`text` with TeX accents, commands and math written as Unicode ("Bal\\'azs" -> "Balázs",
    "$\\beta$-OPSD" -> "β-OPSD"); text without TeX comes back unchanged, white space collapsed.
    Never raises: text the converter cannot read is returned as it was.

    Only the stretches that hold TeX go through the converter (`tex_stretches`): it reads its input
    a character at a time, about 4.6 ms for a whole 1.3 kB abstract with one `$x$` in it."""
    if not has_tex(text):
        return text
    parts = []
    for part, tex in tex_stretches(text):
        if tex:
            body = part.rstrip()
            parts.append(_convert(body) + part[len(body):])  # the white space after it kept as it was
        else:
            parts.append(part)
    return " ".join("".join(parts).split()) or text


def _convert(stretch: str) -> str:
    try:
        return str(_converter().latex_to_text(_PLAIN_SPECIALS.sub(r"\\\1", stretch)))
    except Exception:  # noqa: BLE001 - a third-party parser on untrusted text: keep the text as written
        return stretch


def _tex_word(word: str) -> bool:
    """Whether a word holds TeX, or TeX's dashes, quotes and ties (written out as –, “ ” and a
    space in a text that has TeX elsewhere, as a converter reading the whole text did)."""
    return has_tex(word) or "--" in word or "``" in word or "''" in word or _TIE.search(word) is not None


def tex_stretches(text: str) -> list[tuple[str, bool]]:
    """`text` cut at white space into (part, holds TeX), in order: joined back, they are `text`. A
    part holding TeX runs from a word with TeX in it until its math (`$…$`, `\\(…\\)`, `\\[…\\]`)
    and groups (`{…}`) are closed, across white space if need be ("$a + b$", "{\\em two words}"),
    or to the end of the text. A part ending in a command goes on with the next word, which the
    command may read ("\\aka the": TeX skips the space after a command's name)."""
    parts: list[tuple[str, bool]] = []
    current: list[str] = []
    in_tex = False
    dollars = depth = 0
    for word in _WORDS.findall(text):
        if not in_tex and _tex_word(word):
            if current:
                parts.append(("".join(current), False))
            current, in_tex, dollars, depth = [], True, 0, 0
        current.append(word)
        if not in_tex:
            continue
        unescaped = word.replace("\\\\", "").replace("\\$", "").replace("\\{", "").replace("\\}", "")
        dollars += unescaped.count("$")
        depth += (unescaped.count("{") - unescaped.count("}") + unescaped.count("\\(") - unescaped.count("\\)")
                  + unescaped.count("\\[") - unescaped.count("\\]"))
        if dollars % 2 == 0 and depth <= 0 and not _CONTROL_WORD_END.search(word.rstrip()):
            parts.append(("".join(current), True))
            current, in_tex = [], False
    if current:
        parts.append(("".join(current), in_tex))
    return parts
