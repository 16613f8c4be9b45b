"""Replies as plain terminal text, and the console's Outbound: posts and DMs printed, marked.

Text built with `limits.safe` is Discord markdown; here the markup goes: **bold** and __marks__
are dropped, [text](url) becomes "text <url>", escapes are undone. Buttons are numbered so the
user can type /press N (or /next, /prev).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.chat.limits import clean_user_text, unescape_markdown
from bot.chat.outbound import Sent
from bot.chat.replies import Button, Reply

# Neither part can run past an unescaped bracket, so no start rescans the text after it (linear).
_LINK = re.compile(r"(?<!\\)\[((?:[^\[\]\n\\]|\\.)*)\]\(([^\s)\[\]]+)\)")
_EMPHASIS = re.compile(r"(?<!\\)(\*\*|__)")
_INDENT = "  "


def plain(text: str) -> str:
    """Discord markdown built by the assistant, as plain text."""
    text = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", text)
    return clean_user_text(unescape_markdown(_EMPHASIS.sub("", text)))


def _block(text: str, indent: str) -> list[str]:
    return [indent + line if line else "" for line in plain(text).splitlines()]


def render(reply: Reply, *, numbered: bool = True, sent: bool = False) -> str:
    """The whole reply: text, cards as indented blocks, attachments, numbered buttons.
    `sent`: a post or DM the bot sends (no "only you see this": that is for command replies)."""
    out: list[str] = []
    if reply.private and not sent:
        out.append("(only you see this)")
    if reply.mention_role_id is not None:
        out.append(f"[mentions role {reply.mention_role_id}]")
    if reply.text:
        out += _block(reply.text, "")
    for card in reply.cards:
        title = plain(card.title) if card.title else ""
        if card.url:
            title += f" <{card.url}>"
        if title:
            out.append(f"== {title.strip()}")
        if card.description:
            out += _block(card.description, _INDENT)
        for f in card.fields:
            out.append(f"{_INDENT}{plain(f.name)}:")
            out += _block(f.value, _INDENT * 2)
        if card.footer:
            out.append(f"{_INDENT}-- {plain(card.footer)}")
    for a in reply.attachments:
        out.append(f"[attachment {clean_user_text(a.filename)}, {len(a.data):,} bytes]")
    if reply.buttons:
        out.append(buttons_line(reply.buttons) if numbered else
                   "   ".join(f"[{plain(b.label)}]" for b in reply.buttons))
    return "\n".join(out)


def buttons_line(buttons: list[Button]) -> str:
    shown = []
    for n, b in enumerate(buttons, 1):
        label = plain(b.label)
        shown.append(f"[{n}] {label} <{b.url}>" if b.url else f"[{n}] {label}")
    return "   ".join(shown) + "   (/press N, /next, /prev)"


def channel_name(channel_id: str) -> str:
    platform, _, name = channel_id.partition(":")
    return name if platform == "console" else channel_id


@dataclass
class ConsoleOutbound:
    """bot.chat.outbound.Outbound for the console: every post and DM is printed, marked as such.

    A repeated idempotency key returns the first message, as Discord's nonce does.
    """

    write: Callable[[str], None]
    sent: list[tuple[str, Reply]] = field(default_factory=list)  # (where, reply), for tests
    _keys: dict[str, Sent] = field(default_factory=dict)
    _threads: dict[str, str] = field(default_factory=dict)  # thread id -> label

    def _label(self, channel_id: str) -> str:
        return self._threads.get(channel_id) or f"#{channel_name(channel_id)}"

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        if key is not None and key in self._keys:
            return self._keys[key]
        label = self._label(channel_id)
        self.sent.append((label, reply))
        self.write(f"[{label} post]\n{render(reply, numbered=False, sent=True)}")
        sent = Sent(channel_id, f"m{len(self.sent)}")
        if key is not None:
            self._keys[key] = sent
        return sent

    async def start_thread(self, message: Sent, name: str) -> str:
        thread_id = f"{message.channel_id}.thread{len(self._threads) + 1}"
        self._threads[thread_id] = f"#{channel_name(message.channel_id)} › thread \"{plain(name)}\""
        return thread_id

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        who = channel_name(user_id)
        self.sent.append((f"DM to {who}", reply))
        self.write(f"[DM to {who}]\n{render(reply, numbered=False, sent=True)}")
        return Sent(f"dm:{user_id}", f"m{len(self.sent)}")
