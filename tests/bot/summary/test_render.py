"""Every rendered page fits Discord's limits and shows hostile text safely; text and JSON agree."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat.replies import Reply, violations
from bot.community.actions import paper_of
from bot.summary import (
    Group,
    Highlight,
    PaperItem,
    Summary,
    Theme,
    compose,
    page_action,
    parse_action,
    render_digest,
    render_pages,
    render_text,
    to_json,
)
from bot.summary.takeaways import figures, takeaway
from storage.db import Database
from storage.papers import get_paper
from storage.records import DigestInfo, PaperRecord
from tests.bot.summary.conftest import load

HOSTILE = ["@everyone", "@here", "<@123456789>", "**", "__", "`", "```", "||", "> ", "# ", "[x](http://e.vil)",
           "$\\frac{a}{b}$", "\\", "\u202e", "\u200f", "שלום", "مرحبا", "\n", "~~", "<#42>", "3.18times", "50x", "22%"]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40)), max_size=200).map("".join)
urls = st.one_of(st.none(), st.sampled_from(["https://arxiv.org/abs/2509.00001", "https://x.org/a b)",
                                              "javascript:alert(1)", "https://e.vil/" + "a" * 3000]))


@st.composite
def papers(draw: st.DrawFn, paper_id: int) -> tuple[PaperItem, str]:
    title = draw(hostile_text.map(lambda t: t[:300]))
    abstract = draw(hostile_text.map(lambda t: (t * 20)[:1900]))
    link = draw(urls)
    links = {"arxiv": link, "code": link} if link else {}
    item = PaperItem(paper_id, paper_id, title, None, draw(st.one_of(st.none(), st.integers(0, 10**6))), links)
    return item, abstract


@st.composite
def summaries(draw: st.DrawFn) -> Summary:
    drawn = [draw(papers(i)) for i in range(draw(st.integers(0, 40)))]
    items = [item for item, _ in drawn]
    labels = draw(st.lists(hostile_text.map(lambda t: t[:120]), max_size=6))
    themes = tuple(Theme(label, tuple(i.paper_id for i in items[:3]), 1.0) for label in labels)
    groups = tuple(Group(label, tuple(items[i::len(labels) or 1])) for i, label in enumerate(labels or ["Other"])
                   if items[i::len(labels) or 1])
    highlights = tuple(Highlight(item, takeaway(abstract), tuple(figures(abstract))) for item, abstract in drawn[:9])
    keywords = tuple((k, 2) for k in draw(st.lists(hostile_text.map(lambda t: t[:100]), max_size=8)))
    return Summary(draw(st.integers(1, 10**18)), draw(hostile_text.map(lambda t: t[:300] or "src")),
                   dt.date(2025, 9, 9), len(items), len(items), "upvotes", themes, keywords, highlights, groups)


def shown(reply: Reply) -> str:
    return "\n".join([reply.text] + [f"{c.title}\n{c.description}\n{c.footer}" for c in reply.cards])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(summaries())
def test_every_page_fits_discord_and_defuses_mentions(summary: Summary) -> None:
    pages = render_pages(summary)
    for reply in pages:
        assert violations(reply) == []
        assert "@everyone" not in shown(reply) and "@here" not in shown(reply)
        assert "\u202e" not in shown(reply)
        for button in reply.buttons:
            assert parse_action(button.action) is not None or paper_of(button.action) is not None
    listed = "\n".join(c.description for page in pages[1:] for c in page.cards)
    assert listed.count("\n• ") + listed.startswith("• ") == summary.papers


async def test_hostile_papers_from_the_archive_render_safely(db: Database) -> None:
    nasty = "**@everyone** $\\mathcal{O}(n^2)$ \u202eevil ||spoiler|| [link](http://x) " * 30
    info: DigestInfo = await load(db, [PaperRecord(title=(nasty * 2)[:300], abstract=(nasty * 10)[:1900],
                                                   arxiv_id=f"2509.{i:05d}") for i in range(150)],
                                  dt.date(2025, 9, 9))
    summary = await compose(db, info, highlights=9)
    pages = render_pages(summary)
    assert len(pages) > 2
    assert all(violations(p) == [] for p in pages)
    assert "\u202e" not in render_text(summary)  # the console is not garbled either


async def test_the_sample_post_and_its_pages(db: Database, sample: DigestInfo) -> None:
    pages = await render_digest(db, sample)
    post = pages[0]
    assert post.cards[0].description.startswith("**144 papers**, 144 new to the archive")
    assert "**Themes of the day**" in post.cards[0].description
    assert [c.title for c in post.cards[1:3]] == [
        "Unified Multivariate Gaussian Mixture for Efficient Neural Image Compression",
        "A-SDM: Accelerating Stable Diffusion through Redundancy Removal and Performance Optimization"]
    assert "Figures: 3.18× compression speed up" in post.cards[1].description
    assert [parse_action(b.action) for b in post.buttons][:1] == [(sample.id, 2)]
    # ▲ n: a vote for highlight n.
    highlights = [c.title for c in post.cards[1:]]
    assert [b.label for b in post.buttons[1:]] == [f"▲ {n}" for n in range(1, len(highlights) + 1)]
    voted = await get_paper(db, paper_of(post.buttons[1].action) or 0)
    assert voted is not None and voted.title == highlights[0]
    assert [parse_action(b.action) for b in pages[-1].buttons] == [(sample.id, len(pages) - 1)]
    assert all(violations(p) == [] for p in pages)


async def test_text_and_json_say_the_same(db: Database, sample: DigestInfo) -> None:
    summary = await compose(db, sample)
    text = render_text(summary)
    data = json.loads(json.dumps(to_json(summary)))
    assert text.startswith("hf-daily · Tue 9 Sep 2025: 144 papers, 144 new to the archive\n")
    assert "\\-" not in text  # plain text: no markdown escapes
    assert data["papers"] == 144 and len(data["highlights"]) == 5
    assert data["highlights"][1]["figures"][0] == {"value": "22%", "text": "UNet part of the model is 22% faster"}
    assert [t["label"] for t in data["themes"]] == [t.label for t in summary.themes]
    for theme in data["themes"]:
        assert f"  - {theme['label']} ({theme['papers']} papers)" in text
    assert sum(len(g["papers"]) for g in data["groups"]) == 144


def test_page_actions_round_trip_and_reject_others() -> None:
    assert parse_action(page_action(12345, 3)) == (12345, 3)
    assert parse_action("digest:1:px") is None and parse_action("search:p2:abc") is None
    assert len(page_action(10**18 - 1, 999999)) <= 100
