"""Running commands for any transport: `dispatch`, `suggest` (autocomplete) and `press` (buttons).

All three always answer: a refusal or a bug becomes a short private reply (bot.commands.errors),
and every reply is checked against Discord's limits before it leaves (a reply that would not fit
is a bug: it is logged and cut down rather than sent broken).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.chat import limits
from bot.chat.replies import Card, Choice, Field, Reply, violations
from bot.commands.context import Context
from bot.commands.errors import NotAllowed, NotFound, UsageError, error_reply
from bot.commands.options import convert
from bot.commands.registry import ACTIONS, BY_NAME, TOP
from bot.commands.specs import CommandSpec
from storage.errors import ConnectionLost

log = logging.getLogger(__name__)


def normalise(name: str) -> str:
    """"/Setup  channel" → "setup channel"."""
    return " ".join(limits.clean_user_text(name).strip().lstrip("/").split()).casefold()


def find(name: str) -> tuple[CommandSpec, CommandSpec]:
    """(the runnable spec, its top-level command) for a qualified name."""
    qualified = normalise(name)
    spec = BY_NAME.get(qualified)
    top = TOP.get(qualified.split(" ")[0]) if qualified else None
    if spec is None or top is None:
        if top is not None and top.is_group:
            subs = ", ".join(s.name for s in top.subcommands)
            raise UsageError(f"/{top.name} needs one of: {subs}")
        shown = limits.truncate(qualified, 40)
        raise UsageError(f"There is no /{shown}; /help lists the commands.")
    return spec, top


def check_access(top: CommandSpec, ctx: Context) -> None:
    if top.guild_only and ctx.guild_id is None:
        raise NotAllowed(f"/{top.name} works in a server, not in a direct message.")
    if top.admin_only and not ctx.is_admin:
        raise NotAllowed(f"/{top.name} is for server admins (Manage Server permission).")


async def dispatch(name: str, options: Mapping[str, Any], ctx: Context) -> Reply:
    """Run the command `name` ("search", "setup channel") with its option values."""
    with ctx.services.latency.timed("command"), ctx.services.activity.busy():
        return await _dispatch(name, options, ctx)


async def _dispatch(name: str, options: Mapping[str, Any], ctx: Context) -> Reply:
    qualified = normalise(name)
    try:
        spec, top = find(qualified)
        check_access(top, ctx)
        values = convert(spec, qualified, options, ctx)
        assert spec.handler is not None  # leaves have handlers (tested)
        reply = await spec.handler(ctx, values)
        if top.private:
            reply = replace(reply, private=True)
    except Exception as exc:  # noqa: BLE001 - the edge: a user never sees a traceback
        reply = error_reply(exc, qualified.split(" ")[0] or "?")
    return fit(reply, qualified)


async def suggest(name: str, option: str, partial: str, ctx: Context) -> list[Choice]:
    """As-you-type choices for `option` of command `name` (Discord autocomplete; console tab)."""
    with ctx.services.latency.timed("suggest"), ctx.services.activity.busy():
        return await _suggest(name, option, partial, ctx)


async def _suggest(name: str, option: str, partial: str, ctx: Context) -> list[Choice]:
    try:
        spec, top = find(name)
        check_access(top, ctx)
        wanted = next((o for o in spec.options if o.name == option), None)
        if wanted is None or wanted.suggest is None:
            return []
        choices = await wanted.suggest(ctx, limits.clean_user_text(str(partial))[:limits.CHOICE_VALUE * 3])
    except Exception as exc:  # noqa: BLE001 - suggestions are best effort
        if isinstance(exc, ConnectionLost):
            log.warning("suggestions for /%s %s: %s", normalise(name), option, exc)
        elif not isinstance(exc, UsageError | NotAllowed):
            log.error("suggestions for /%s %s failed", normalise(name), option, exc_info=exc)
        return []
    return [c for c in choices if 1 <= len(c.name) <= limits.CHOICE_NAME and 1 <= len(c.value) <= limits.CHOICE_VALUE
            ][:limits.AUTOCOMPLETE_CHOICES]


async def press(action_id: str, ctx: Context) -> Reply:
    """The reply to a button whose action id is `action_id` (a page of results, another paper)."""
    with ctx.services.latency.timed("press"), ctx.services.activity.busy():
        return await _press(action_id, ctx)


async def _press(action_id: str, ctx: Context) -> Reply:
    prefix = action_id.partition(":")[0]
    try:
        handler = ACTIONS.get(prefix)
        if handler is None:
            raise NotFound("That button no longer works; run the command again.")
        reply = await handler(ctx, action_id)
    except Exception as exc:  # noqa: BLE001
        reply = error_reply(exc, prefix or "?")
    return fit(reply, prefix)


def fit(reply: Reply, where: str) -> Reply:
    """`reply` if it fits Discord's limits; otherwise logged as a bug and cut to fit."""
    problems = violations(reply)
    if not problems:
        return reply
    log.error("/%s built a reply that does not fit (%s); cutting it", where, "; ".join(problems))
    cards = [Card(title=limits.truncate(c.title, limits.EMBED_TITLE),
                  description=limits.truncate(c.description, 3000), url=c.url,
                  fields=[Field(limits.truncate(f.name, limits.FIELD_NAME) or "-",
                                limits.truncate(f.value, 600) or "-", f.inline) for f in c.fields[:10]],
                  footer=limits.truncate(c.footer, 200)) for c in reply.cards[:1]]
    buttons = [b for b in reply.buttons if b.url is not None or 1 <= len(b.action) <= limits.CUSTOM_ID][:25]
    buttons = [replace(b, label=limits.truncate(b.label, limits.BUTTON_LABEL)) for b in buttons]
    fitted = replace(reply, text=limits.truncate(reply.text, limits.CONTENT), cards=cards, buttons=buttons)
    if violations(fitted):
        return Reply(text="Sorry, that answer could not be shown. It has been logged.", private=True)
    return fitted
