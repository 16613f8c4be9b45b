"""/vote, /top and /library, and the ▲ Vote and ☆ Save buttons (bot/community/actions.py).

Thin: bot.community.CommunityService does the work and raises CommunityError (a short sentence)
for anything it refuses. A vote or save press answers privately, with the count just after it:
the message pressed is shared (a daily post, a search), so it stays as it is for everyone else,
and no two presses race to rewrite it. /library is private: a library is its owner's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.chat import limits
from bot.chat.replies import Attachment, Button, Card, Choice, Reply
from bot.commands.context import Context
from bot.commands.errors import NotFound
from bot.commands.lookup import suggest_title
from bot.commands.specs import CommandSpec, OptionSpec, OptionType, StaticChoice
from bot.community import actions, export, top
from bot.community.service import LibraryPage
from bot.display.titles import shown_title
from bot.lookup.service import MAX_QUERY
from bot.summary.render import url_ok
from storage.records import StoredPaper

PER_PAGE = 10
_TITLE = 150
_PERIOD_NAMES = {"week": "this week", "month": "the last 30 days", "all": "all time"}


def _title(paper: StoredPaper, limit: int = _TITLE) -> str:
    return limits.safe(shown_title(paper.title) or "(untitled)", limit) or "(untitled)"


def _votes(n: int) -> str:
    return f"{n} vote{'s' if n != 1 else ''}"


# -- votes ----------------------------------------------------------------------------------------

async def _vote_reply(ctx: Context, paper: StoredPaper) -> Reply:
    outcome = await ctx.services.community.vote(ctx.guild_id, ctx.user_id, paper.id, now=ctx.now())
    title, count = _title(paper), _votes(outcome.count)
    if outcome.voted and outcome.changed:
        text = f"▲ You voted for **{title}**: {count} in this server. Press ▲ Vote again to take it back."
    elif outcome.voted:
        text = f"You had already voted for **{title}**: {count} in this server."
    elif outcome.changed:
        text = f"You took back your vote for **{title}**: {count} in this server."
    else:
        text = f"You had no vote for **{title}** to take back: {count} in this server."
    return Reply(text=limits.truncate(text, limits.CONTENT), private=True)


async def run_vote(ctx: Context, options: Mapping[str, Any]) -> Reply:
    paper = await ctx.services.community.find_paper(str(options["paper"]))
    return await _vote_reply(ctx, paper)


async def press_vote(ctx: Context, action: str) -> Reply:
    paper_id = actions.paper_of(action)
    if paper_id is None:
        raise NotFound("That button no longer works; run the command again.")
    return await _vote_reply(ctx, await ctx.services.community.paper(paper_id))


async def run_top(ctx: Context, options: Mapping[str, Any]) -> Reply:
    period = str(options.get("period") or "week")
    since = top.period_start(period, ctx.now())
    entries = await ctx.services.community.top(ctx.guild_id, since, top.DEFAULT_LIMIT)
    when = _PERIOD_NAMES[period]
    if not entries:
        return Reply(text=f"Nothing voted for or upvoted {when} yet. Vote with ▲ Vote on a paper's card, "
                          "a search result's /paper card or the daily post.")
    lines = []
    for n, e in enumerate(entries, 1):
        url = e.paper.links.get("arxiv") or (f"https://arxiv.org/abs/{e.paper.arxiv_id}" if e.paper.arxiv_id else None)
        title = _title(e.paper, 180)
        shown = f"[{title}]({url})" if url_ok(url) else title
        facts = [f"▲ {_votes(e.votes)}"]
        if e.upvotes:
            facts.append(f"{e.upvotes:,} upvote{'s' if e.upvotes != 1 else ''} at the source")
        lines.append(f"**{n}.** {shown}\n{' · '.join(facts)}")
    card = Card(title=f"Top papers in this server, {when}", description=limits.truncate("\n".join(lines), 4000),
                footer="Ranked by votes + log10(1 + the source's upvotes); ▲ n votes for paper n")
    buttons = [Button(f"▲ {n}", action=actions.vote_action(e.paper.id)) for n, e in enumerate(entries, 1)]
    return Reply(cards=[card], buttons=buttons)


# -- the library ----------------------------------------------------------------------------------

async def _save_reply(ctx: Context, paper: StoredPaper, want: bool | None) -> Reply:
    outcome = await ctx.services.community.save(ctx.user_id, paper.id, now=ctx.now(), want=want)
    title, size = _title(paper), f"{outcome.size} paper{'s' if outcome.size != 1 else ''}"
    if outcome.saved:
        text = (f"☆ Saved **{title}** to your library ({size}). " if outcome.changed
                else f"**{title}** was already in your library ({size}). ")
        text += "/library lists, removes and exports them."
    else:
        text = (f"Took **{title}** out of your library ({size} left)." if outcome.changed
                else f"**{title}** was not in your library ({size}).")
    return Reply(text=limits.truncate(text, limits.CONTENT), private=True)


async def press_save(ctx: Context, action: str) -> Reply:
    paper_id = actions.paper_of(action)
    if paper_id is None:
        raise NotFound("That button no longer works; run the command again.")
    return await _save_reply(ctx, await ctx.services.community.paper(paper_id), None)


async def run_library_save(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _save_reply(ctx, await ctx.services.community.find_paper(str(options["paper"])), True)


async def run_library_remove(ctx: Context, options: Mapping[str, Any]) -> Reply:
    paper = await ctx.services.community.find_saved_paper(ctx.user_id, str(options["paper"]))
    return await _save_reply(ctx, paper, False)


def _library_reply(shown: LibraryPage) -> Reply:
    if not shown.total:
        return Reply(text="Your library is empty. Save papers with ☆ Save on a paper's card or a search, "
                          "or with /library save.", private=True)
    first = (shown.page - 1) * PER_PAGE + 1
    lines, buttons = [], []
    for n, (saved, paper) in enumerate(shown.entries, first):
        ref = f"arXiv {paper.arxiv_id}" if paper.arxiv_id else f"id:{paper.id}"
        saved_on = saved.saved_at.date().isoformat()
        lines.append(f"**{n}.** {_title(paper, 200)}\n{limits.safe(ref, 40)} · saved {saved_on}")
        buttons.append(Button(f"✕ {n}", action=actions.library_remove_action(paper.id, shown.page)))
    if shown.page > 1:
        buttons.append(Button("◀ Previous", action=actions.library_page_action(shown.page - 1)))
    if shown.page < shown.pages:
        buttons.append(Button("Next ▶", action=actions.library_page_action(shown.page + 1)))
    card = Card(title=f"Your library · {shown.total} paper{'s' if shown.total != 1 else ''}",
                description=limits.truncate("\n".join(lines), 4000),
                footer=f"Page {shown.page} of {shown.pages} · ✕ n removes paper n · /library export for BibTeX, "
                       "CSV or JSON Lines")
    return Reply(cards=[card], buttons=buttons, private=True)


async def run_library_list(ctx: Context, options: Mapping[str, Any]) -> Reply:
    page = int(options.get("page") or 1)
    return _library_reply(await ctx.services.community.library_page(ctx.user_id, page, PER_PAGE))


async def press_library(ctx: Context, action: str) -> Reply:
    parsed = actions.library_action(action)
    if parsed is None:
        raise NotFound("That button no longer works; run /library list again.")
    remove, page = parsed
    community = ctx.services.community
    if remove is not None:
        await community.save(ctx.user_id, remove, now=ctx.now(), want=False)
    return _library_reply(await community.library_page(ctx.user_id, page, PER_PAGE))


async def run_library_export(ctx: Context, options: Mapping[str, Any]) -> Reply:
    fmt = str(options.get("format") or "bibtex")
    file = await ctx.services.community.export_library(ctx.user_id, fmt, max_bytes=limits.ATTACHMENT_BYTES)
    size = await ctx.services.community.library_size(ctx.user_id)
    names = {"bibtex": "BibTeX", "csv": "CSV", "jsonl": "JSON Lines"}
    text = f"Your library as {names[fmt]}: {file.papers} paper{'s' if file.papers != 1 else ''}."
    if file.papers < size:
        text += (f" The most recently saved {file.papers} of {size} fit Discord's attachment limit; "
                 "`paperboy library USER export` writes them all.")
    return Reply(text=text, attachments=[Attachment(file.filename, file.data)], private=True)


async def suggest_saved(ctx: Context, partial: str) -> list[Choice]:
    """The asker's saved papers whose title holds what was typed, most recently saved first."""
    typed = " ".join(partial.split()).casefold()
    shown = await ctx.services.community.library_page(ctx.user_id, 1, 200)
    out = []
    for _, paper in shown.entries:
        title = shown_title(paper.title) or "(untitled)"
        if typed in title.casefold():
            out.append(Choice(limits.truncate(title, limits.CHOICE_NAME), f"id:{paper.id}"))
        if len(out) == limits.AUTOCOMPLETE_CHOICES:
            break
    return out


_PAPER_HELP = "The paper: part of its title, an arXiv id or URL, or id:N"
SPECS = (
    CommandSpec(
        "vote", "Vote for a paper in this server, or take your vote back (one vote per member)",
        options=(OptionSpec("paper", OptionType.STRING, _PAPER_HELP, required=True, suggest=suggest_title,
                            max_length=MAX_QUERY),),
        handler=run_vote, guild_only=True, private=True,
    ),
    CommandSpec(
        "top", "This server's most voted papers, with the source's upvotes blended in",
        options=(OptionSpec("period", OptionType.STRING, "The votes of this week (default), month, or all time",
                            choices=tuple(StaticChoice(p, p) for p in top.PERIODS)),),
        handler=run_top, guild_only=True, may_be_slow=True,
    ),
    CommandSpec(
        "library", "Your saved papers: list, save, remove, export",
        subcommands=(
            CommandSpec("list", "The papers you saved, newest first",
                        options=(OptionSpec("page", OptionType.INTEGER, "Which page (10 papers a page)",
                                            min_value=1, max_value=1000),),
                        handler=run_library_list),
            CommandSpec("save", "Save a paper to your library",
                        options=(OptionSpec("paper", OptionType.STRING, _PAPER_HELP, required=True,
                                            suggest=suggest_title, max_length=MAX_QUERY),),
                        handler=run_library_save),
            CommandSpec("remove", "Take a paper out of your library",
                        options=(OptionSpec("paper", OptionType.STRING, "The paper (suggests your saved papers)",
                                            required=True, suggest=suggest_saved, max_length=MAX_QUERY),),
                        handler=run_library_remove),
            CommandSpec("export", "Your library as a file: BibTeX, CSV or JSON Lines",
                        options=(OptionSpec("format", OptionType.STRING, "bibtex (default), csv or jsonl",
                                            choices=tuple(StaticChoice(f, f) for f in export.FORMATS)),),
                        handler=run_library_export),
        ),
        private=True, may_be_slow=True,
    ),
)
ACTIONS = {actions.VOTE: press_vote, actions.SAVE: press_save, actions.LIBRARY: press_library}
