"""/paper: find a paper by its title as remembered (suggestions as you type) and show its card.

The card: title, dates, authors, takeaway, abstract, links, and the digests that listed it.
Other close matches come as buttons ("paper:<ref>", e.g. "paper:arxiv:2401.15024"). With [llm]
on, a "TL;DR" button ("tldr:<paper id>") shows the card again with a one-line TL;DR: the
source's own summary, the cached one, or one the model writes then (bot.llm).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.chat import limits
from bot.chat.replies import Button, Card, Choice, Field, Reply
from bot.commands.context import Context
from bot.commands.errors import NotFound, UsageError
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from bot.community.actions import paper_buttons
from bot.display.addresses import absolute, paper_path
from bot.display.tex import tex_to_text
from bot.display.titles import shown_title
from bot.lookup.service import MAX_QUERY
from bot.summary.render import url_ok
from bot.summary.takeaways import takeaway
from storage import papers as paper_repo
from storage.records import StoredPaper

ACTION = "paper"
TLDR_ACTION = "tldr"
ALTERNATIVES = 4
_ABSTRACT = 2000
_LINK_NAMES = {"arxiv": "arXiv", "pdf": "PDF", "github": "code", "code": "code", "project": "project"}


async def suggest_title(ctx: Context, partial: str) -> list[Choice]:
    return await ctx.services.lookup.autocomplete(partial)


@dataclass(frozen=True, slots=True)
class PaperFacts:
    """What a paper's card shows, before any transport renders it (the /paper card, the web page).

    Text is as shown to people (title and abstract with TeX made readable, white space collapsed)
    but not escaped: each renderer escapes it its own way."""

    paper: StoredPaper
    title: str
    abstract: str
    takeaway: str
    authors: list[str]
    links: dict[str, str]  # shown name ("arXiv", "PDF", "code", "project") -> URL, unsafe ones left out
    listings: list[paper_repo.Listing]  # oldest first

    @property
    def first_listed(self) -> dt.date | None:
        return self.listings[0].date if self.listings else None

    @property
    def url(self) -> str | None:
        """The paper's own page (arXiv's abstract page when it has an id)."""
        paper = self.paper
        url = paper.links.get("arxiv") or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None)
        return url if url_ok(url) else None


def _links(paper: StoredPaper) -> dict[str, str]:
    links = dict(paper.links)
    if paper.arxiv_id and "arxiv" not in links:
        links["arxiv"] = f"https://arxiv.org/abs/{paper.arxiv_id}"
    shown: dict[str, str] = {}
    for kind, url in links.items():
        name = _LINK_NAMES.get(kind, kind)
        if url_ok(url) and name not in shown:
            shown[name] = url
    return shown


def paper_facts(listed: paper_repo.ListedPaper) -> PaperFacts:
    paper = listed.paper
    return PaperFacts(paper, shown_title(paper.title) or "(untitled)", shown_abstract(paper.abstract),
                      takeaway(paper.abstract), [" ".join(a.split()) for a in paper.authors], _links(paper),
                      listed.listings)


def shown_abstract(abstract: str) -> str:
    """An abstract as shown: TeX as Unicode ("$\\alpha$" as "α"), on one line."""
    return " ".join(tex_to_text(" ".join(abstract.split())).split())


async def paper_card(ctx: Context, paper: StoredPaper, *, tldr: Field | None = None) -> Card:
    facts = paper_facts(paper_repo.ListedPaper(paper, await paper_repo.listings(ctx.services.db, paper.id)))
    listings = facts.listings
    fields: list[Field] = [tldr] if tldr is not None else []
    dates = []
    if paper.published:
        dates.append(f"published {paper.published.isoformat()}")
    if listings:
        dates.append(f"first listed {listings[0].date.isoformat()}")
    if paper.arxiv_id:
        dates.append(f"arXiv {paper.arxiv_id}")
    if dates:
        fields.append(Field("Dates", " · ".join(dates)))
    if facts.authors:
        fields.append(Field("Authors", limits.safe(", ".join(facts.authors), limits.FIELD_VALUE)))
    if facts.takeaway.strip():
        fields.append(Field("Takeaway", limits.safe(facts.takeaway, limits.FIELD_VALUE)))
    shown = [f"[{limits.safe(name, 20)}]({url})" for name, url in facts.links.items()]
    site = ctx.services.settings.web.public_url
    page = absolute(site, paper_path(paper.arxiv_id, paper.id)) if site else None
    if page and url_ok(page):
        shown.append(f"[archive page]({page})")
    links = " · ".join(shown)
    if links and len(links) <= limits.FIELD_VALUE:
        fields.append(Field("Links", links))
    if listings:
        lines = []
        for item in reversed(listings[-8:]):
            votes = f", ▲ {item.upvotes}" if item.upvotes is not None else ""
            lines.append(limits.safe(f"{item.source} · {item.date.isoformat()} (#{item.position + 1}{votes})", 120))
        more = f"\n… and {len(listings) - 8} earlier" if len(listings) > 8 else ""
        fields.append(Field(f"Listed in {len(listings)} digest{'s' if len(listings) != 1 else ''}",
                            "\n".join(lines) + more))
    return Card(title=limits.safe(facts.title, limits.EMBED_TITLE) or "(untitled)",
                description=limits.safe(facts.abstract, _ABSTRACT), url=facts.url, fields=fields)


async def run_paper(ctx: Context, options: Mapping[str, Any]) -> Reply:
    query = str(options["title"])
    if len(query) > MAX_QUERY:
        raise UsageError(f"title is {len(query)} characters long; at most {MAX_QUERY} please")
    lookup = ctx.services.lookup
    exact = await lookup.resolve(query)
    if exact is not None:
        return Reply(cards=[await paper_card(ctx, exact)], buttons=_tldr_button(ctx, exact))
    hits = await lookup.lookup(query, 1 + ALTERNATIVES)
    if not hits:
        raise NotFound(f"No paper in the archive resembles '{query}'. Try /search with a few words of it.")
    paper = await lookup.resolve(hits[0].value)
    if paper is None:
        raise NotFound("That paper is no longer in the archive.")
    buttons = [Button(limits.truncate(shown_title(h.title) or "(untitled)", limits.BUTTON_LABEL),
                      action=f"{ACTION}:{h.value}")
               for h in hits[1:] if len(h.value) + len(ACTION) + 1 <= limits.CUSTOM_ID]
    text = "Other close matches are the buttons below the card." if buttons else ""
    return Reply(text=text, cards=[await paper_card(ctx, paper)], buttons=_tldr_button(ctx, paper) + buttons)


async def press_paper(ctx: Context, action: str) -> Reply:
    paper = await ctx.services.lookup.resolve(action.partition(":")[2])
    if paper is None:
        raise NotFound("That paper is no longer in the archive.")
    return Reply(cards=[await paper_card(ctx, paper)], buttons=_tldr_button(ctx, paper))


def _tldr_button(ctx: Context, paper: StoredPaper) -> list[Button]:
    """The card's own buttons: ▲ Vote and ☆ Save (bot/community/actions.py), and TL;DR with [llm] on."""
    tldr = [Button("TL;DR", action=f"{TLDR_ACTION}:{paper.id}")] if ctx.services.llm is not None else []
    return tldr + paper_buttons(paper.id)


async def press_tldr(ctx: Context, action: str) -> Reply:
    """The card with its TL;DR; when none can be had, the card says why (the takeaway stays)."""
    llm = ctx.services.llm
    if llm is None:
        raise NotFound("TL;DRs are off on this bot ([llm] enabled = false).")
    ref = action.partition(":")[2]
    paper = await paper_repo.get_paper(ctx.services.db, int(ref)) if ref.isdigit() and len(ref) <= 19 else None
    if paper is None:
        raise NotFound("That paper is no longer in the archive.")
    outcome = await llm.paper_tldr(paper)
    if outcome.text is not None:
        who = "the source's summary" if outcome.status == "source" else f"written by {llm.model}"
        field = Field(f"TL;DR ({limits.truncate(who, 100)})", limits.safe(outcome.text, limits.FIELD_VALUE))
    else:
        field = Field("TL;DR", limits.safe(f"none this time: {outcome.problem or outcome.status}. "
                                           "The takeaway below is the abstract's own sentence.", limits.FIELD_VALUE))
    return Reply(cards=[await paper_card(ctx, paper, tldr=field)], buttons=paper_buttons(paper.id))


SPECS = (
    CommandSpec(
        "paper", "Find a paper by its title, even misremembered, and show its details",
        options=(OptionSpec("title", OptionType.STRING, "Part of the title, its short name, or an arXiv id/URL",
                            required=True, suggest=suggest_title, max_length=MAX_QUERY),),
        handler=run_paper,
    ),
)
ACTIONS = {ACTION: press_paper, TLDR_ACTION: press_tldr}
