"""Checking and converting option values against a command's spec, before its handler runs.

Discord sends typed values and the console sends text; both come through here, so a handler
only ever sees values of its options' types, within their limits, with control and bidi
characters removed. Every problem is a `UsageError` naming the option.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from bot.chat.limits import clean_user_text, truncate
from bot.chat.replies import Attachment
from bot.commands.context import Context
from bot.commands.errors import UsageError
from bot.commands.specs import CommandSpec, OptionSpec, OptionType

DEFAULT_MAX_LENGTH = 1000  # string options without their own max_length
_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}
_CHANNEL_ID = re.compile(r"^[a-z]+:[\w.\-]{1,100}$")
_CHANNEL_MENTION = re.compile(r"^<#(\d{1,20})>$")
_CHANNEL_NAME = re.compile(r"^#?([\w.\-]{1,100})$")
_ROLE = re.compile(r"^(?:<@&)?(\d{1,20})>?$")


def _shown(value: object) -> str:
    """An input value quoted in an error message: one line, short."""
    return truncate(" ".join(clean_user_text(str(value)).split()), 60)


def convert(spec: CommandSpec, qualified: str, raw: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """The handler's options: every given option converted, required ones present."""
    known = {o.name: o for o in spec.options}
    unknown = [name for name in raw if name not in known]
    if unknown:
        listing = ", ".join(known) or "none"
        raise UsageError(f"/{qualified} has no option '{_shown(unknown[0])}' (its options: {listing})")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None:
            continue
        converted = _one(known[name], value, ctx)
        if converted is not None:
            out[name] = converted
    for option in spec.options:
        if option.required and option.name not in out:
            raise UsageError(f"/{qualified} needs {option.name}: {option.description}")
    return out


def _one(option: OptionSpec, value: Any, ctx: Context) -> Any:
    kind = option.type
    if kind == OptionType.ATTACHMENT:
        if not isinstance(value, Attachment):
            raise UsageError(f"{option.name} must be an attached file")
        return value
    if isinstance(value, bool) and kind != OptionType.BOOLEAN:
        raise UsageError(f"{option.name} must be {kind.name.lower()}, not yes/no")
    if kind == OptionType.INTEGER:
        return _integer(option, value)
    if kind == OptionType.BOOLEAN:
        return _boolean(option, value)
    text = " ".join(clean_user_text(str(value)).split()) if kind != OptionType.STRING \
        else clean_user_text(str(value)).strip()
    if not text:
        return None  # an empty value is no value
    if kind == OptionType.CHANNEL:
        return _channel(option, text, ctx)
    if kind == OptionType.ROLE:
        m = _ROLE.match(text)
        if not m:
            raise UsageError(f"{option.name} '{_shown(text)}' is not a role (a mention like <@&123> or its id)")
        return m.group(1)
    limit = option.max_length or DEFAULT_MAX_LENGTH
    if len(text) > limit:
        raise UsageError(f"{option.name} is {len(text)} characters long; at most {limit} please")
    if option.choices:
        for choice in option.choices:
            if text.casefold() in (choice.name.casefold(), str(choice.value).casefold()):
                return choice.value
        allowed = ", ".join(str(c.value) for c in option.choices)
        raise UsageError(f"{option.name} '{_shown(text)}' must be one of: {allowed}")
    return text


def _integer(option: OptionSpec, value: Any) -> int:
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[-+]?\d{1,18}", text):
            raise UsageError(f"{option.name} '{_shown(value)}' is not a whole number")
        number = int(text)
    low, high = option.min_value, option.max_value
    if (low is not None and number < low) or (high is not None and number > high):
        span = f"from {low} to {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise UsageError(f"{option.name} must be {span}, not {number}")
    return number


def _boolean(option: OptionSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{option.name} '{_shown(value)}' must be yes or no")


def _channel(option: OptionSpec, text: str, ctx: Context) -> str:
    """"discord:123" as sent by Discord; "<#123>"; or a bare name "#papers" on the console."""
    if _CHANNEL_ID.match(text):
        return text
    m = _CHANNEL_MENTION.match(text)
    if m:
        return f"discord:{m.group(1)}"
    m = _CHANNEL_NAME.match(text)
    if m and ctx.transport == "console":
        return f"console:{m.group(1).lower()}"
    raise UsageError(f"{option.name} '{_shown(text)}' is not a channel")


def parse_date(value: str | None, option: str) -> dt.date | None:
    """A date option ("2025-09-09"); None when not given."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{option} '{_shown(value)}' is not a date like 2025-09-09") from None
