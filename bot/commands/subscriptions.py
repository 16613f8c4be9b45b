"""/subscribe, /unsubscribe, /subscriptions, /notifications and /why: personal topic alerts.

Thin: bot.subscriptions.service does the work and raises SubscriptionError (a short sentence)
for anything it refuses. Replies are private: a user's topics are their own business.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.chat import limits
from bot.chat.replies import Card, Choice, Field, Reply
from bot.commands.context import Context
from bot.commands.errors import NotAllowed, NotFound
from bot.commands.lookup import suggest_title
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from bot.display.titles import shown_title
from bot.subscriptions import explain as explainer
from bot.subscriptions import service
from bot.subscriptions.service import MAX_CAP
from storage.subscriptions import UserPrefs

MAX_TOPIC = 200


def _private(text: str, cards: list[Card] | None = None) -> Reply:
    return Reply(text=limits.truncate(text, limits.CONTENT), cards=cards or [], private=True)


async def suggest_own_topic(ctx: Context, partial: str) -> list[Choice]:
    typed = partial.strip().casefold()
    out = []
    for s in await service.topics(ctx.services.db, ctx.user_id):
        if typed in s.topic.casefold():
            name = limits.truncate(" ".join(limits.clean_user_text(s.topic).split()), limits.CHOICE_NAME) or s.query
            value = s.topic if len(s.topic) <= limits.CHOICE_VALUE else str(s.id)
            out.append(Choice(name or "(topic)", value))
    return out[:25]


async def run_subscribe(ctx: Context, options: Mapping[str, Any]) -> Reply:
    result = await service.subscribe(ctx.services.db, ctx.services.settings.subscriptions, ctx.user_id,
                                     str(options["topic"]), save=not options.get("preview", False))
    p = result.preview
    topic = limits.safe(p.topic.text, 200)
    if result.subscription is None:
        head = f"Preview of “{topic}” (not saved):"
    else:
        head = f"You now follow “{topic}” ({result.count} of {result.limit} topics)."
    if p.until is None:
        body = "The archive has no digests yet, so there is nothing to preview."
    else:
        body = (f"In the {p.days} days up to {p.until.isoformat()} it would have matched "
                f"{p.count} paper{'s' if p.count != 1 else ''}.")
    lines = [limits.safe(f"{x.listed.isoformat()} · {shown_title(x.title)}", 200)
             + (f" — {limits.safe(', '.join(x.terms), 120)}" if x.terms else "") for x in p.recent]
    cards = [Card(title="Latest matches", description="\n".join(f"• {line}" for line in lines))] if lines else []
    note = " You will get one message per digest listing new matches." if result.subscription else ""
    return _private(f"{head} {body}{note}", cards)


async def run_unsubscribe(ctx: Context, options: Mapping[str, Any]) -> Reply:
    removed = await service.unsubscribe(ctx.services.db, ctx.user_id, str(options["topic"]))
    return _private(limits.safe(f"You no longer follow “{removed.topic}”.", limits.CONTENT))


def _prefs_line(prefs: UserPrefs, default_cap: int) -> str:
    way = "direct message" if prefs.delivery == "direct" else "a mention in the server's digest thread"
    state = "paused" if prefs.paused else "on"
    return (f"Notifications: {state}, by {way}, at most {prefs.cap or default_cap} papers listed per message"
            + (", trying the other way if that fails" if prefs.fallback else "") + ".")


async def run_subscriptions(ctx: Context, options: Mapping[str, Any]) -> Reply:
    db = ctx.services.db
    topics = await service.topics(db, ctx.user_id)
    prefs = await service.preferences(db, ctx.user_id)
    settings = ctx.services.settings.subscriptions
    if not topics:
        return _private("You follow no topics yet. Try /subscribe diffusion models.")
    lines = [f"{n}. {limits.safe(' '.join(s.topic.split()), 200)}" for n, s in enumerate(topics, 1)]
    card = Card(title=f"Your topics ({len(topics)} of {settings.max_topics})",
                description=limits.truncate("\n".join(lines), 4000),
                fields=[Field("Notifications", _prefs_line(prefs, settings.default_cap))],
                footer="/unsubscribe TOPIC · /notifications pause|resume|dm|channel|cap · /why TOPIC PAPER")
    return _private("", [card])


async def _set(ctx: Context, **values: Any) -> Reply:
    prefs = await service.set_preferences(ctx.services.db, ctx.user_id, **values)
    return _private(_prefs_line(prefs, ctx.services.settings.subscriptions.default_cap))


async def run_pause(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _set(ctx, paused=True)


async def run_resume(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _set(ctx, paused=False)


async def run_dm(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _set(ctx, delivery="direct")


async def run_channel(ctx: Context, options: Mapping[str, Any]) -> Reply:
    if ctx.guild_id is None:
        raise NotAllowed("Use /notifications channel in the server whose digest thread should mention you.")
    return await _set(ctx, delivery="channel", server=ctx.guild_id)


async def run_cap(ctx: Context, options: Mapping[str, Any]) -> Reply:
    return await _set(ctx, cap=int(options["papers"]))


async def run_why(ctx: Context, options: Mapping[str, Any]) -> Reply:
    services = ctx.services
    ref = str(options["paper"])
    paper = await services.lookup.resolve(ref)
    if paper is None:
        hits = await services.lookup.lookup(ref, 1)
        paper = await services.lookup.resolve(hits[0].value) if hits else None
    if paper is None:
        raise NotFound(f"No paper in the archive resembles '{ref}'.")
    found = await explainer.explain(services.db, services.settings.subscriptions, ctx.user_id, str(paper.id),
                                    str(options["topic"]))
    fields = [Field(limits.safe(f"“{e.topic}”: {'matches' if e.matches else 'does not match'}", limits.FIELD_NAME),
                    limits.safe("\n".join(f"• {r}" for r in e.reasons) or "-", limits.FIELD_VALUE))
              for e in found[:limits.EMBED_FIELDS]]
    card = Card(title=limits.safe(shown_title(paper.title), limits.EMBED_TITLE) or "(untitled)",
                fields=fields)
    return _private("", [card])


SPECS = (
    CommandSpec("subscribe", "Follow a topic: get a message when a new digest lists matching papers", options=(
        OptionSpec("topic", OptionType.STRING, "Words, \"a phrase\", -exclusions, OR, prefix*, title:word",
                   required=True, max_length=MAX_TOPIC),
        OptionSpec("preview", OptionType.BOOLEAN, "Only show what it would have matched lately; don't follow"),
    ), handler=run_subscribe, private=True),
    CommandSpec("unsubscribe", "Stop following one of your topics", options=(
        OptionSpec("topic", OptionType.STRING, "One of your topics", required=True, suggest=suggest_own_topic,
                   max_length=MAX_TOPIC),
    ), handler=run_unsubscribe, private=True),
    CommandSpec("subscriptions", "Your topics and notification settings", handler=run_subscriptions, private=True),
    CommandSpec("notifications", "How and whether your topic notifications reach you", subcommands=(
        CommandSpec("pause", "Pause your topic notifications", handler=run_pause),
        CommandSpec("resume", "Resume your topic notifications", handler=run_resume),
        CommandSpec("dm", "Get notifications as direct messages", handler=run_dm),
        CommandSpec("channel", "Get a mention in this server's digest thread instead of a DM", handler=run_channel),
        CommandSpec("cap", "How many papers one notification lists", options=(
            OptionSpec("papers", OptionType.INTEGER, f"From 1 to {MAX_CAP}", required=True, min_value=1,
                       max_value=MAX_CAP),), handler=run_cap),
    ), private=True),
    CommandSpec("why", "Why a paper was (or was not) sent to you for a topic", options=(
        OptionSpec("topic", OptionType.STRING, "The topic (one of yours, or any)", required=True,
                   suggest=suggest_own_topic, max_length=MAX_TOPIC),
        OptionSpec("paper", OptionType.STRING, "The paper's title, short name or arXiv id", required=True,
                   suggest=suggest_title, max_length=300),
    ), handler=run_why, private=True),
)
