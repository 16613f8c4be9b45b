"""/similar and /recommend, and the ≈ More like this button on paper cards (bot/community/actions.py).

Thin: bot.similar.SimilarService finds the papers, bot.similar.render shows them; a PAPER given as
text is resolved as everywhere else (CommunityService.find_paper: id:N, an arXiv id or URL, or a
title). /similar answers in the channel, like /paper, and the buttons privately; /recommend is
private: it is made of the member's own saves and votes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.chat.replies import Reply
from bot.commands.context import Context
from bot.commands.errors import NotFound
from bot.commands.lookup import suggest_title
from bot.commands.specs import CommandSpec, OptionSpec, OptionType, StaticChoice
from bot.community import actions
from bot.lookup.service import MAX_QUERY
from bot.similar.render import recommend_reply, similar_reply
from bot.similar.service import MAX_DAYS
from storage.records import StoredPaper

NEIGHBOURS = 10


async def _similar(ctx: Context, paper: StoredPaper) -> Reply:
    service = ctx.services.similar
    matches = await service.neighbours(paper, NEIGHBOURS)
    return similar_reply(paper, matches, building=None if matches else await service.coverage())


async def run_similar(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _similar(ctx, await ctx.services.community.find_paper(str(options["paper"])))


async def press_similar(ctx: Context, action: str) -> Reply:
    """≈ More like this (and ≈ n): answered privately, so the card pressed, which others see, stays
    as it is (a press on the private list itself replaces it: browsing from neighbour to neighbour)."""
    paper_id = actions.paper_of(action)
    if paper_id is None:
        raise NotFound("That button no longer works; run the command again.")
    reply = await _similar(ctx, await ctx.services.community.paper(paper_id))
    reply.private = True
    return reply


async def run_recommend(ctx: Context, options: Mapping[str, Any]) -> Reply:
    service = ctx.services.similar
    days = int(options.get("days") or 7)
    note = ""
    if options.get("weekly") is not None:
        on = options["weekly"] == "on"
        changed = await service.set_weekly(ctx.user_id, on, now=ctx.now(), guild_id=ctx.guild_id)
        if on:
            when = await service.weekly_time(ctx.guild_id)
            note = (f"Weekly message on: each Monday at {when} you get these by direct message. " if changed
                    else f"Your weekly message was already on (Mondays at {when}). ")
        else:
            note = "Weekly message off. " if changed else "Your weekly message was already off. "
    found = await service.recommend(ctx.user_id, today=ctx.now().date(), days=days)
    return recommend_reply(found, weekly=await service.weekly(ctx.user_id), note=note)


SPECS = (
    CommandSpec(
        "similar", "Papers like this one: nearest by the words of their titles and abstracts",
        options=(OptionSpec("paper", OptionType.STRING, "The paper: part of its title, an arXiv id or URL, or id:N",
                            required=True, suggest=suggest_title, max_length=MAX_QUERY),),
        handler=run_similar, may_be_slow=True,
    ),
    CommandSpec(
        "recommend", "Recent papers like the ones you saved and voted for, with the words that weighed most",
        options=(OptionSpec("days", OptionType.INTEGER, "Papers first listed in the last N days (default 7)",
                            min_value=1, max_value=MAX_DAYS),
                 OptionSpec("weekly", OptionType.STRING, "on: get them by direct message each week; off: stop",
                            choices=(StaticChoice("on", "on"), StaticChoice("off", "off")))),
        handler=run_recommend, private=True, may_be_slow=True,
    ),
)
ACTIONS = {actions.SIMILAR: press_similar}
