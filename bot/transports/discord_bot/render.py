"""Turning the assistant's `Reply` into what discord.py sends: content, embeds, buttons, files.

Mentions never ping: every message carries `allowed_mentions` that parses nothing, except the
one role a server configured for its daily post (`Reply.mention_role_id`), which is prefixed to
the content and allowed by id. Buttons carry their action id as the custom id, so a click is
answered from the id alone, after a restart too (no views are kept in memory).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.chat import limits
from bot.chat.replies import Reply

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


@dataclass(slots=True)
class Rendered:
    """Keyword arguments for discord.py's send/edit calls (see `kwargs`)."""

    content: str | None
    embeds: list[discord.Embed] = field(default_factory=list)
    view: discord.ui.View | None = None
    files: list[discord.File] = field(default_factory=list)
    allowed_mentions: discord.AllowedMentions = NO_MENTIONS

    def kwargs(self, *, files: bool = True) -> dict[str, Any]:
        """For `send`/`send_message`/`followup.send`: only what is set (discord.py treats an
        explicit None differently from a missing argument for views and files)."""
        out: dict[str, Any] = {"content": self.content, "embeds": self.embeds,
                               "allowed_mentions": self.allowed_mentions}
        if self.view is not None:
            out["view"] = self.view
        if files and self.files:
            out["files"] = self.files
        return out

    def edit_kwargs(self) -> dict[str, Any]:
        """For editing a message in place: everything replaced, components removed when none."""
        return {"content": self.content, "embeds": self.embeds, "view": self.view,
                "allowed_mentions": self.allowed_mentions}


def content_of(reply: Reply) -> str | None:
    text = reply.text
    if reply.mention_role_id is not None:
        prefix = f"<@&{reply.mention_role_id}> "
        text = prefix + limits.truncate(text, limits.CONTENT - len(prefix)) if text else prefix.strip()
    return text or None


def allowed_mentions_of(reply: Reply) -> discord.AllowedMentions:
    if reply.mention_role_id is None:
        return NO_MENTIONS
    return discord.AllowedMentions(everyone=False, users=False, replied_user=False,
                                   roles=[discord.Object(reply.mention_role_id)])


def embeds_of(reply: Reply) -> list[discord.Embed]:
    embeds = []
    for card in reply.cards:
        embed = discord.Embed(title=card.title or None, description=card.description or None, url=card.url)
        for f in card.fields:
            embed.add_field(name=f.name, value=f.value, inline=f.inline)
        if card.footer:
            embed.set_footer(text=card.footer)
        embeds.append(embed)
    return embeds


def view_of(reply: Reply) -> discord.ui.View | None:
    """Buttons in rows of five. The view is marked finished before it is sent, so discord.py
    does not keep it: clicks reach the client's interaction handler with the custom id."""
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    per_row = limits.BUTTONS_PER_ROW
    for i, b in enumerate(reply.buttons[: limits.ACTION_ROWS * per_row]):
        if b.url is not None:
            item: discord.ui.Button[discord.ui.View] = discord.ui.Button(
                label=b.label, url=b.url, style=discord.ButtonStyle.link, disabled=b.disabled, row=i // per_row)
        else:
            if b.action in seen:  # Discord refuses a message whose custom ids repeat
                log.warning("dropping a second button with action %r", b.action)
                continue
            seen.add(b.action)
            item = discord.ui.Button(label=b.label, custom_id=b.action, style=discord.ButtonStyle.secondary,
                                     disabled=b.disabled, row=i // per_row)
        view.add_item(item)
    view.stop()
    return view


def files_of(reply: Reply) -> list[discord.File]:
    return [discord.File(io.BytesIO(a.data), filename=a.filename) for a in reply.attachments]


def render(reply: Reply) -> Rendered:
    return Rendered(content_of(reply), embeds_of(reply), view_of(reply), files_of(reply), allowed_mentions_of(reply))
