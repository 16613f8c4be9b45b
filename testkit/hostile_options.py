"""Hostile values for every command option: what `tests/bot/commands/test_dispatch.py` sends
through each option and `python -m bench resilience` counts as inputs tried."""

from __future__ import annotations

from bot.commands import BY_NAME
from bot.commands.specs import OptionType

HOSTILE = ["x" * 5000, "", "   ", "\x00\x1b[31mred\x07", "**bold** __u__ `code` [x](http://e.org) > quote\n# h",
           "@everyone @here <@123> <@&456> <#789>", "\u202eevil\u202c \u2067rtl", "'unbalanced \"quote",
           "-1", "99999999999999999999999", "لغة عربية مع שלום"]
# (command, option) for every option a user types; attachments and the /ingest URL have their own tests.
TARGETS = [(name, o.name) for name, spec in BY_NAME.items() for o in spec.options
           if o.type not in (OptionType.ATTACHMENT,) and not (name == "ingest" and o.name == "url")]
