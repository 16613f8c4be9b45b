"""bot.display.tex: TeX in names and titles shown as Unicode text (issues #13 and #20)."""

from __future__ import annotations

import pytest

from bot.display.tex import has_tex, tex_stretches, tex_to_text


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


@pytest.mark.parametrize(("written", "shown"), [
    ("we get $a + b = c$ and {\\em two words} here", "we get a + b = c and two words here"),
    ("model size (\\aka the number of parameters)", "model size (the number of parameters)"),
    ("the \\( x^2 \\) term and $\\alpha$", "the x^2 term and α"),
    ("fine-tuning~(SFT) of $\\beta$ -- and ``quoted''", "fine-tuning (SFT) of β – and “quoted”"),
    ("$\\beta$ is about ~24x faster, 40% ~ 80% of it", "β is about ~24x faster, 40% ~ 80% of it"),
    ("an unclosed $x + y$ and $z", "an unclosed x + y and z"),
    ("costs \\$5 and {nested {groups} here} done", "costs $5 and nested groups here done"),
])
def test_only_the_stretches_holding_tex_are_converted_as_the_whole_text_would_be(written: str, shown: str) -> None:
    """An abstract goes through the converter a stretch at a time (a whole abstract took ~4 ms):
    math and groups across white space stay one stretch, a command takes the word after it."""
    assert tex_to_text(written) == shown


@pytest.mark.parametrize("text", ["$a + b$ x {c d} \\e f", "  lead $x$", "a\tb\n$c$  ", "$$", "{", "}"])
def test_stretches_put_back_together_are_the_text(text: str) -> None:
    parts = tex_stretches(text)
    assert "".join(p for p, _ in parts) == text
    assert not any(has_tex(p) for p, tex in parts if not tex)  # every TeX word is in a stretch
