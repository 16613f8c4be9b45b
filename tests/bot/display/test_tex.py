"""bot.display.tex: TeX in names and titles shown as Unicode text (issues #13 and #20)."""

from __future__ import annotations

import pytest

from bot.display.tex import tex_to_text


@pytest.mark.parametrize(("written", "shown"), [
    ("Bal\\'azs", "Balázs"),
    ("Przemys{\\l}aw", "Przemysław"),
    ("Jaros{\\l}aw \\.Zygierewicz", "Jarosław Żygierewicz"),
    ("$\\beta$-OPSD", "β-OPSD"),
    ("$Δ$-DiT", "Δ-DiT"),
    ("PanGu-$\\pi$", "PanGu-π"),
    ("A \\& B", "A & B"),
])
def test_tex_becomes_unicode(written: str, shown: str) -> None:
    assert tex_to_text(written) == shown


@pytest.mark.parametrize("text", ["plain title", "50% faster & cheaper", "C# at 100%", ""])
def test_text_without_tex_is_unchanged(text: str) -> None:
    assert tex_to_text(text) == text


def test_plain_specials_inside_tex_stay_text() -> None:
    # A bare % would start a TeX comment and swallow the rest; a bare & would become spaces.
    assert tex_to_text("$\\alpha$ at 50% cost & more") == "α at 50% cost & more"
