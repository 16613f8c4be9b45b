"""The model's paragraph and TL;DRs in the post: every page still fits Discord's limits, whatever
they say, and they appear in the text and JSON forms too (issue #19)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.replies import violations
from bot.summary import Group, Highlight, PaperItem, Summary, render_pages, render_text, to_json
from bot.summary.render import OVERVIEW_HEADING
from tests.bot.summary.test_render import hostile_text, shown, summaries


@st.composite
def with_model_text(draw: st.DrawFn) -> Summary:
    summary = draw(summaries())
    tldrs = [draw(st.one_of(st.none(), hostile_text.map(lambda t: t[:300]))) for _ in summary.highlights]
    return dataclasses.replace(
        summary, overview=draw(st.one_of(st.none(), hostile_text.map(lambda t: t[:700]))),
        highlights=tuple(dataclasses.replace(h, tldr=t) for h, t in zip(summary.highlights, tldrs, strict=True)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_model_text())
def test_every_page_fits_with_the_models_text(summary: Summary) -> None:
    for reply in render_pages(summary):
        assert violations(reply) == []
        assert "@everyone" not in shown(reply) and "@here" not in shown(reply)


def test_the_paragraph_and_tldrs_show_in_every_form() -> None:
    items = [PaperItem(i, i, f"Paper {i}", None, 10 - i, {}) for i in range(1, 4)]
    highlights = (Highlight(items[0], "It is fast.", (), tldr="A faster exact attention."),
                  Highlight(items[1], "It is small.", ()))
    summary = Summary(7, "hf-daily", dt.date(2025, 9, 9), 3, 3, "upvotes", (), (), highlights,
                      (Group("Other", tuple(items)),), overview="Today was about attention. Two papers stood out.")
    post = render_pages(summary)[0]
    assert OVERVIEW_HEADING in post.cards[0].description
    assert "Today was about attention. Two papers stood out." in post.cards[0].description
    assert post.cards[1].description.startswith("TL;DR: A faster exact attention.")
    assert "TL;DR" not in post.cards[2].description
    text = render_text(summary)
    assert "Today in papers (written by a model from the abstracts)\n  Today was about attention." in text
    assert "   TL;DR: A faster exact attention." in text
    data = to_json(summary)
    assert data["overview"].startswith("Today was about") and data["highlights"][0]["tldr"].startswith("A faster")
    assert "tldr" not in data["highlights"][1]
    assert "overview" not in to_json(dataclasses.replace(summary, overview=None))
