"""/digest: the daily summary of a day's digest (the latest by default), with the full list paged.

The pages are bot.summary's (the same as the daily post); their buttons carry
"digest:<id>:p<n>", served here from the summary composed for page 1 (bot.summary.cache), or
by composing it again after a restart or a load that changed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.chat.replies import Choice, Reply
from bot.commands.context import Context
from bot.commands.errors import NotFound
from bot.commands.options import parse_date
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from bot.summary import parse_action, render_pages
from bot.summary.render import EMPTY_DAY
from storage import digests as digest_repo
from storage.records import DigestInfo


async def suggest_date(ctx: Context, partial: str) -> list[Choice]:
    """The stored digests' dates, newest first, that start with what was typed."""
    typed = partial.strip()
    seen: dict[str, Choice] = {}
    # Daily digests only: an archive import's thousands of days are not what a day brought.
    for digest in await digest_repo.list_digests(ctx.services.db, limit=200, archive_imports=False):
        day = digest.date.isoformat()
        if day.startswith(typed) and (day not in seen or (digest.papers and seen[day].name.endswith(EMPTY_DAY))):
            seen[day] = Choice(f"{day} · {digest.source[:40]} · "
                               + (f"{digest.papers} papers" if digest.papers else EMPTY_DAY), day)
        if len(seen) == 25:
            break
    return list(seen.values())


async def pages(ctx: Context, digest: DigestInfo) -> list[Reply]:
    summary = await ctx.services.summaries.get(ctx.services.db, digest)
    if ctx.services.llm is not None:  # the model's paragraph and TL;DRs, when written
        summary = await ctx.services.llm.enrich(summary)
    return render_pages(summary, site=ctx.services.settings.web.public_url)


async def run_digest(ctx: Context, options: Mapping[str, Any]) -> Reply:
    day = parse_date(options.get("date"), "date")
    digest = await digest_repo.find_digest(ctx.services.db, date=day, empty=day is not None)
    if digest is None:
        raise NotFound(f"No digest for {day.isoformat()}." if day else "No digest has been loaded yet.")
    return (await pages(ctx, digest))[0]


async def press_page(ctx: Context, action: str) -> Reply:
    parsed = parse_action(action)
    digest = await digest_repo.get_digest(ctx.services.db, parsed[0]) if parsed else None
    if parsed is None or digest is None:
        raise NotFound("That digest is no longer in the archive; try /digest.")
    replies = await pages(ctx, digest)
    if not 1 <= parsed[1] <= len(replies):
        raise NotFound(f"That digest has {len(replies)} pages.")
    return replies[parsed[1] - 1]


SPECS = (
    CommandSpec(
        "digest", "The daily summary of a day's papers, with the full list",
        options=(OptionSpec("date", OptionType.STRING, "The day (YYYY-MM-DD); the latest digest when left out",
                            suggest=suggest_date, max_length=10),),
        handler=run_digest,
    ),
)
ACTIONS = {"digest": press_page}
