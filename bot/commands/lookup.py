"""/paper: find a paper by its title as remembered (suggestions as you type) and show its card.

The card: title, dates, authors, takeaway, abstract, links, and the digests that listed it.
Other close matches come as buttons ("paper:<ref>", e.g. "paper:arxiv:2401.15024"). With [llm]
on, a "TL;DR" button ("tldr:<paper id>") shows the card again with a one-line TL;DR: the
source's own summary, the cached one, or one the model writes then (bot.llm).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.chat import limits
from bot.chat.replies import Button, Card, Choice, Field, Reply
from bot.commands.context import Context
from bot.commands.errors import NotFound, UsageError
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from bot.lookup.service import MAX_QUERY
from bot.summary.render import url_ok
from bot.summary.takeaways import takeaway
from bot.titles import shown_title
from storage import papers as paper_repo
from storage.records import StoredPaper

ACTION = "paper"
TLDR_ACTION = "tldr"
ALTERNATIVES = 4
_ABSTRACT = 2000
_LINK_NAMES = {"arxiv": "arXiv", "pdf": "PDF", "github": "code", "code": "code", "project": "project"}


async def suggest_title(ctx: Context, partial: str) -> list[Choice]:
    return await ctx.services.lookup.autocomplete(partial)


def _links(paper: StoredPaper) -> str:
    links = dict(paper.links)
    if paper.arxiv_id and "arxiv" not in links:
        links["arxiv"] = f"https://arxiv.org/abs/{paper.arxiv_id}"
    shown = [f"[{_LINK_NAMES.get(k, limits.safe(k, 20))}]({u})" for k, u in links.items() if url_ok(u)]
    return " · ".join(shown)


async def paper_card(ctx: Context, paper: StoredPaper, *, tldr: Field | None = None) -> Card:
    listings = await paper_repo.listings(ctx.services.db, paper.id)
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
    if paper.authors:
        authors = ", ".join(" ".join(a.split()) for a in paper.authors)
        fields.append(Field("Authors", limits.safe(authors, limits.FIELD_VALUE)))
    summary = takeaway(paper.abstract)
    if summary.strip():
        fields.append(Field("Takeaway", limits.safe(summary, limits.FIELD_VALUE)))
    links = _links(paper)
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
    url = paper.links.get("arxiv") or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None)
    return Card(title=limits.safe(shown_title(paper.title), limits.EMBED_TITLE) or "(untitled)",
                description=limits.safe(" ".join(paper.abstract.split()), _ABSTRACT),
                url=url if url_ok(url) else None, fields=fields)


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
    return [Button("TL;DR", action=f"{TLDR_ACTION}:{paper.id}")] if ctx.services.llm is not None else []


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
    return Reply(cards=[await paper_card(ctx, paper, tldr=field)])


SPECS = (
    CommandSpec(
        "paper", "Find a paper by its title, even misremembered, and show its details",
        options=(OptionSpec("title", OptionType.STRING, "Part of the title, its short name, or an arXiv id/URL",
                            required=True, suggest=suggest_title, max_length=MAX_QUERY),),
        handler=run_paper,
    ),
)
ACTIONS = {ACTION: press_paper, TLDR_ACTION: press_tldr}
