"""The assistant's chat commands, written once for every transport.

    from bot.commands import COMMANDS, Context, dispatch, suggest, press
    reply = await dispatch("search", {"query": "diffusion"}, ctx)

`COMMANDS` are declarative specs (bot.commands.specs) a transport turns into its own commands;
`dispatch` runs one and always returns a `Reply` (refusals and bugs become short private
replies); `suggest` gives autocomplete choices; `press` answers a button from its action id.
"""

from bot.chat.replies import Choice
from bot.commands.context import Context, Services
from bot.commands.dispatch import dispatch, find, press, suggest
from bot.commands.registry import BY_NAME, COMMANDS
from bot.commands.specs import CommandSpec, OptionSpec, OptionType, StaticChoice

__all__ = ["BY_NAME", "COMMANDS", "Choice", "CommandSpec", "Context", "OptionSpec", "OptionType", "Services",
           "StaticChoice", "dispatch", "find", "press", "suggest"]
