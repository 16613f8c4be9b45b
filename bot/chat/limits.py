"""Discord's hard limits (API v10) and the helpers that make any text fit them safely.

discord.py checks command names locally but not embed sizes, description lengths or
autocomplete choices, so every reply is fitted here before a transport sees it.
"""

from __future__ import annotations

import re

CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBEDS_TOTAL = 6000
AUTOCOMPLETE_CHOICES = 25
CHOICE_NAME = 100
CHOICE_VALUE = 100
COMMAND_NAME = 32
COMMAND_DESCRIPTION = 100
OPTIONS_PER_COMMAND = 25
STATIC_CHOICES = 25
STRING_OPTION = 6000  # the longest value a string option can take (its max_length's ceiling)
COMMAND_TOTAL = 8000
ACTION_ROWS = 5
BUTTONS_PER_ROW = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
# Files: at most 10 per message, and 10 MiB each on a server without boosts (Discord's upload limit
# since 2024; boosted servers allow more, but a bot cannot count on it).
ATTACHMENTS_PER_MESSAGE = 10
ATTACHMENT_BYTES = 10 * 1024 * 1024
COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$")  # \w is Unicode letters, digits and _ in Python

ELLIPSIS = "…"
_MARKDOWN = re.compile(r"([\\*_~`|\[\]<>])")
# White space but not newlines: `\s*` crossed them, and a run of newlines made it quadratic.
_LINE_START = re.compile(r"^([^\S\n]*)([#>-]|\d+\.)", re.MULTILINE)
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)(\d+)>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def truncate(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Cut `text` to at most `limit` characters, on a word boundary when one is near."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return text[:limit]
    cut = text[: limit - len(ellipsis)]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ellipsis


def clean_user_text(text: str) -> str:
    """Drop control and bidi-override characters that would garble a message."""
    return _CONTROL.sub("", text)


def escape_markdown(text: str) -> str:
    """Show markdown characters literally (a title with `**` or `_x_` stays as written)."""
    return _LINE_START.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", text))


def defuse_mentions(text: str) -> str:
    """Make @everyone, @here and <@id> inert even where mentions would be parsed.

    allowed_mentions already blocks pings; this also stops them rendering as mentions.
    """
    return _MENTION.sub(lambda m: m.group(0).replace("@", "@\u200b").replace("<#", "<#\u200b"), text)


def _render(raw: str) -> str:
    return escape_markdown(defuse_mentions(raw))


def safe(text: str, limit: int | None = None) -> str:
    """Untrusted text (titles, abstracts, user input) made safe to show in Discord markdown,
    cut to `limit` characters after escaping (never in the middle of an escape)."""
    raw = clean_user_text(text)
    out = _render(raw)
    if limit is None or len(out) <= limit:
        return out
    keep = limit
    while keep > 0:
        out = _render(truncate(raw, keep))
        if len(out) <= limit:
            return out
        keep -= max(1, len(out) - limit)
    return ""


def unescape_markdown(text: str) -> str:
    """For plain-text transports: drop the backslashes `escape_markdown` added."""
    return re.sub(r"\\(.)", r"\1", text)
