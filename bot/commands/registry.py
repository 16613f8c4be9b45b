"""Every chat command, in the order /help lists them, and every button action's handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from bot.chat.replies import Reply
from bot.commands import community, digest, help, ingest, lookup, search, setup, similar, status, subscriptions
from bot.commands.context import Context
from bot.commands.specs import CommandSpec, index

Action = Callable[[Context, str], Awaitable[Reply]]

COMMANDS: tuple[CommandSpec, ...] = (
    *search.SPECS, *lookup.SPECS, *digest.SPECS, *community.SPECS, *similar.SPECS, *subscriptions.SPECS,
    *setup.SPECS, *ingest.SPECS, *status.SPECS, *help.specs(lambda: COMMANDS),
)

BY_NAME: Mapping[str, CommandSpec] = index(COMMANDS)  # "setup channel" -> its spec
TOP: Mapping[str, CommandSpec] = {c.name: c for c in COMMANDS}

# Button actions by prefix: "search:…", "digest:…", "paper:…", "vote:…", "save:…", "lib:…", "like:…".
ACTIONS: Mapping[str, Action] = {**search.ACTIONS, **lookup.ACTIONS, **digest.ACTIONS, **community.ACTIONS,
                                 **similar.ACTIONS}
