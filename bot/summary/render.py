"""A `Summary` rendered three ways: Discord-sized reply pages, plain text, JSON.

Page 1 is the daily post: a header card (counts, themes, the source's keywords) and one card per
highlight, with a button to the full list. Pages 2… are the full list grouped by theme. Every
page fits Discord's limits whatever the papers say: untrusted text goes through `limits.safe`,
URLs that could break markdown are dropped, and long content is cut or moved to the next page.
Page buttons carry "digest:<id>:p<n>", so a click can be served after a restart by composing again;
the post's "▲ n" buttons carry "vote:<paper id>" (a vote for highlight n, bot/community/actions.py).
"""

from __future__ import annotations

import re
from typing import Any

from bot.chat import limits
from bot.chat.replies import Button, Card, Reply
from bot.community.actions import vote_action
from bot.display.addresses import absolute, digest_path, paper_path
from bot.summary.compose import Highlight, PaperItem, Summary

ACTION_PREFIX = "digest"
_ACTION = re.compile(r"^digest:(\d{1,19}):p(\d{1,6})$")  # SQLite ids < 2**63
# A URL safe inside "[text](url)": no spaces, brackets, quotes or angle brackets.
_SAFE_URL = re.compile(r"^https?://[^\s<>()\[\]\"'`\\]+$")
_MAX_URL = 512
_LINK_NAMES = {"arxiv": "arXiv", "code": "code", "project": "project"}
_POST_BUDGET = limits.EMBEDS_TOTAL - 200  # room for rounding and the transport's own additions
_PAGE_DESCRIPTION = limits.EMBED_DESCRIPTION - 196
_HIGHLIGHT_TITLE = 200
_LIST_TITLE = 160
_TAKEAWAY_LIMITS = (420, 300, 200, 120, 60, 0)
# An empty day (a weekend, an empty feed) is a digest listing no papers: every command says so.
EMPTY_DAY = "0 papers (an empty day)"
_EMPTY_NOTE = "The source published no papers that day (an empty day)."


def page_action(digest_id: int, page: int) -> str:
    return f"{ACTION_PREFIX}:{digest_id}:p{page}"


def parse_action(action: str) -> tuple[int, int] | None:
    """(digest id, page) of a page button's action, None when it is not one."""
    m = _ACTION.match(action)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _inline(prefix: str, text: str, limit: int) -> str:
    """`prefix` + untrusted `text` as one safe line; the prefix keeps text like "2.5D…" or "3.18×…"
    off the line start, where `safe` would escape it as a list marker."""
    return limits.safe(prefix + " ".join(text.split()), limit + len(prefix))


def url_ok(url: str | None) -> bool:
    return bool(url) and len(url or "") <= _MAX_URL and _SAFE_URL.match(url or "") is not None


def _links_md(item: PaperItem) -> str:
    return " · ".join(f"[{_LINK_NAMES.get(k, k)}]({u})" for k, u in item.links.items() if url_ok(u))


def _date(summary: Summary) -> str:
    return f"{summary.date:%a} {summary.date.day} {summary.date:%b %Y}"


def _heading(summary: Summary) -> str:
    return limits.safe(f"{summary.source} · {_date(summary)}", limits.EMBED_TITLE)


def _papers(n: int) -> str:
    return "1 paper" if n == 1 else f"{n} papers"


def _counts_line(summary: Summary) -> str:
    if not summary.papers:
        return _EMPTY_NOTE
    return f"**{_papers(summary.papers)}**, {summary.new} new to the archive"


OVERVIEW_HEADING = "**Today in papers** (written by a model from the abstracts)"


def _header_card(summary: Summary, site: str) -> Card:
    lines = [_counts_line(summary)]
    if summary.overview:
        lines += ["", OVERVIEW_HEADING, limits.safe(summary.overview, 700)]
    if summary.themes:
        lines += ["", "**Themes of the day**"]
        lines += [_inline("• ", t.label, 80) + f" — {_papers(t.papers)}" for t in summary.themes]
    if summary.keywords:
        lines += ["", _inline("Keywords: ", " · ".join(f"{limits.truncate(k, 60)} ({n})" for k, n in summary.keywords),
                              600)]
    if summary.highlights:
        lines += ["", f"**Highlights** (by {summary.ranked_by})"]
    # The paragraph gets room of its own: it never pushes the themes out of the header.
    room = 1500 + (len(OVERVIEW_HEADING) + 704 if summary.overview else 0)
    page = absolute(site, digest_path(summary.date, summary.source)) if site else None
    return Card(title=_heading(summary), description=limits.truncate("\n".join(lines), room),
                url=page if url_ok(page) else None)


def _highlight_card(h: Highlight, rank: int, takeaway_limit: int, site: str) -> Card:
    parts = []
    if h.tldr and takeaway_limit >= 120:
        parts.append(_inline("TL;DR: ", h.tldr, 300))
    if takeaway_limit and h.takeaway:
        parts.append(limits.safe(h.takeaway, takeaway_limit))
    if h.figures and takeaway_limit >= 120:
        parts.append(_inline("Figures: ", " · ".join(limits.truncate(f.text, 80) for f in h.figures), 260))
    links = _links_md(h.paper)
    page = absolute(site, paper_path(h.paper.arxiv_id, h.paper.paper_id)) if site else None
    if page and url_ok(page):
        links += (" · " if links else "") + f"[archive page]({page})"
    if links:
        parts.append(links)
    footer = f"#{rank}" + (f" · ▲ {h.paper.upvotes} upvotes" if h.paper.upvotes is not None else "")
    url = h.paper.links.get("arxiv")
    return Card(title=limits.safe(h.paper.title, _HIGHLIGHT_TITLE) or "(untitled)",
                description="\n".join(parts), url=url if url_ok(url) else None, footer=footer)


def _post(summary: Summary, list_pages: int, site: str) -> Reply:
    header = _header_card(summary, site)
    shown = list(summary.highlights[:limits.EMBEDS_PER_MESSAGE - 1])
    cards: list[Card] = [header]
    # Shorter takeaways until the whole post fits; then fewer highlights, never a broken post.
    while True:
        for limit in _TAKEAWAY_LIMITS:
            cards = [header] + [_highlight_card(h, i, limit, site) for i, h in enumerate(shown, 1)]
            if sum(c.size() for c in cards) <= _POST_BUDGET:
                break
        if sum(c.size() for c in cards) <= _POST_BUDGET or not shown:
            break
        shown.pop()
    label = f"Full list · {_papers(summary.papers)}"
    buttons = [Button(label, action=page_action(summary.digest_id, 2))] if list_pages else []
    # ▲ n votes for highlight n in the server that pressed it (bot/community/actions.py).
    buttons += [Button(f"▲ {rank}", action=vote_action(h.paper.paper_id)) for rank, h in enumerate(shown, 1)]
    return Reply(cards=cards, buttons=buttons)


def _list_line(item: PaperItem) -> str:
    links = _links_md(item)
    return _inline("• ", item.title or "(untitled)", _LIST_TITLE) + (f" — {links}" if links else "")


def _list_bodies(summary: Summary) -> list[str]:
    """The grouped list packed into page-sized descriptions; a group cut by a page break
    repeats its heading ("(continued)") on the next page."""
    pages: list[str] = []
    current: list[str] = []
    used = 0  # len("\n".join(current))

    def push(line: str) -> None:
        nonlocal used
        used += len(line) + (1 if current else 0)
        current.append(line)

    def new_page() -> None:
        nonlocal used
        pages.append("\n".join(current))
        current.clear()
        used = 0

    for group in summary.groups:
        heading = f"**{limits.safe(group.label, 80)}** ({len(group.papers)})"
        lines = [_list_line(item) for item in group.papers]
        if current and used + len(heading) + len(lines[0]) + 3 > _PAGE_DESCRIPTION:
            new_page()  # never a heading alone at the foot of a page
        if current:
            push("")
        push(heading)
        for line in lines:
            if used + 1 + len(line) > _PAGE_DESCRIPTION:
                new_page()
                push(f"{heading} (continued)")
            push(line)
    if current:
        pages.append("\n".join(current))
    return pages


def render_pages(summary: Summary, *, site: str = "") -> list[Reply]:
    """Page 1: the post (header, themes, highlights, a button to the list); then the full list.
    `site`: the web archive's public address ([web] public_url); the header then links to the
    digest's page and each highlight to its paper's page."""
    bodies = _list_bodies(summary)
    total = len(bodies) + 1
    replies = [_post(summary, len(bodies), site)]
    for n, body in enumerate(bodies, 2):
        buttons = [Button("◀ Previous" if n > 2 else "◀ Summary", action=page_action(summary.digest_id, n - 1))]
        if n < total:
            buttons.append(Button("Next ▶", action=page_action(summary.digest_id, n + 1)))
        title = limits.safe(f"All papers · {summary.source} · {_date(summary)}", limits.EMBED_TITLE)
        replies.append(Reply(cards=[Card(title=title, description=body, footer=f"Page {n} of {total}")],
                             buttons=buttons))
    return replies


def _plain(text: str) -> str:
    return limits.clean_user_text(" ".join(text.split()))


def render_text(summary: Summary) -> str:
    """The whole summary for a terminal: header, themes, highlights, then every paper by theme."""
    out = [f"{_plain(summary.source)} · {_date(summary)}: " + (
        f"{summary.papers} papers, {summary.new} new to the archive" if summary.papers else _EMPTY_NOTE)]
    if summary.overview:
        out += ["", "Today in papers (written by a model from the abstracts)", f"  {_plain(summary.overview)}"]
    if summary.themes:
        out += ["", "Themes of the day"]
        out += [f"  - {_plain(t.label)} ({t.papers} papers)" for t in summary.themes]
    if summary.keywords:
        out += ["", "Keywords: " + ", ".join(f"{_plain(k)} ({n})" for k, n in summary.keywords)]
    if summary.highlights:
        out += ["", f"Highlights (by {summary.ranked_by})"]
        for i, h in enumerate(summary.highlights, 1):
            votes = f"  [{h.paper.upvotes} upvotes]" if h.paper.upvotes is not None else ""
            out.append(f"{i}. {_plain(h.paper.title)}{votes}")
            if h.tldr:
                out.append(f"   TL;DR: {_plain(h.tldr)}")
            if h.takeaway:
                out.append(f"   {_plain(h.takeaway)}")
            if h.figures:
                out.append("   Figures: " + "; ".join(_plain(f.text) for f in h.figures))
            out += [f"   {_LINK_NAMES.get(k, k)}: {_plain(u)}" for k, u in h.paper.links.items()]
    if summary.groups:
        out += ["", "All papers by theme"]
        for group in summary.groups:
            out.append(f"{_plain(group.label)} ({len(group.papers)})")
            for item in group.papers:
                link = item.links.get("arxiv")
                out.append(f"  - {_plain(item.title)}" + (f"  {_plain(link)}" if link else ""))
    return "\n".join(out) + "\n"


def _paper_json(item: PaperItem) -> dict[str, Any]:
    return {"paper_id": item.paper_id, "position": item.position, "title": item.title,
            "arxiv_id": item.arxiv_id, "upvotes": item.upvotes, "links": dict(item.links)}


def to_json(summary: Summary) -> dict[str, Any]:
    """The summary as JSON-ready data (text unescaped, as stored)."""
    return {
        "digest_id": summary.digest_id,
        "source": summary.source,
        "date": summary.date.isoformat(),
        "papers": summary.papers,
        "new": summary.new,
        "ranked_by": summary.ranked_by,
        "themes": [{"label": t.label, "papers": t.papers, "paper_ids": list(t.paper_ids), "score": t.score}
                   for t in summary.themes],
        "keywords": [{"keyword": k, "papers": n} for k, n in summary.keywords],
        "highlights": [{**_paper_json(h.paper), "takeaway": h.takeaway,
                        "figures": [{"value": f.value, "text": f.text} for f in h.figures],
                        **({"tldr": h.tldr} if h.tldr else {})}
                       for h in summary.highlights],
        "groups": [{"theme": g.label, "papers": [_paper_json(p) for p in g.papers]} for g in summary.groups],
        **({"overview": summary.overview} if summary.overview else {}),
    }
