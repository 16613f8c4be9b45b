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


@lru_cache(maxsize=1)
def _converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


def has_tex(text: str) -> bool:
    """Whether `text` has anything TeX would change (a command, math or a group)."""
    return "\\" in text or "$" in text or "{" in text


def tex_to_text(text: str) -> str:
    """`text` with TeX accents, commands and math written as Unicode ("Bal\\'azs" -> "Balázs",
    "$\\beta$-OPSD" -> "β-OPSD"); text without TeX comes back unchanged, white space collapsed.
    Never raises: text the converter cannot read is returned as it was."""
    if not has_tex(text):
        return text
    try:
        converted = _converter().latex_to_text(_PLAIN_SPECIALS.sub(r"\\\1", text))
    except Exception:  # noqa: BLE001 - a third-party parser on untrusted text: keep the text as written
        return text
    return " ".join(converted.split()) or text
