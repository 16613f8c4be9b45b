"""Reply objects: what the assistant answers, before any transport renders it.

The Discord transport turns a `Card` into an embed and `Button`s into components; the console
prints them as text. Everything here is built to fit Discord's limits (`bot.chat.limits`), and
`violations()` says what would not, so tests can check every reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.chat import limits


@dataclass(frozen=True, slots=True)
class Choice:
    """One autocomplete choice: `name` shown (≤ 100 chars), `value` sent back (≤ 100 chars)."""

    name: str
    value: str


@dataclass(slots=True)
class Field:
    name: str
    value: str
    inline: bool = False


@dataclass(slots=True)
class Card:
    """A titled block: an embed on Discord, a paragraph in the console."""

    title: str = ""
    description: str = ""
    url: str | None = None
    fields: list[Field] = field(default_factory=list)
    footer: str = ""

    def size(self) -> int:
        return (len(self.title) + len(self.description) + len(self.footer)
                + sum(len(f.name) + len(f.value) for f in self.fields))


@dataclass(slots=True)
class Button:
    """A button. `action` is a stateless id the assistant can decode after a restart
    (e.g. "search:p2:<cursor>"); `url` makes it a link instead."""

    label: str
    action: str = ""
    url: str | None = None
    disabled: bool = False


@dataclass(slots=True)
class Attachment:
    filename: str
    data: bytes


@dataclass(slots=True)
class Reply:
    text: str = ""
    cards: list[Card] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    private: bool = False  # only the asking user sees it (ephemeral on Discord)
    attachments: list[Attachment] = field(default_factory=list)
    mention_role_id: int | None = None  # the one mention a feature may allow (the daily post's role)


def violations(reply: Reply) -> list[str]:
    """Every way `reply` breaks Discord's limits (empty when it fits)."""
    problems: list[str] = []

    def check(what: str, value: str, limit: int) -> None:
        if len(value) > limit:
            problems.append(f"{what} is {len(value)} characters (limit {limit})")

    check("content", reply.text, limits.CONTENT)
    if len(reply.cards) > limits.EMBEDS_PER_MESSAGE:
        problems.append(f"{len(reply.cards)} embeds (limit {limits.EMBEDS_PER_MESSAGE})")
    total = 0
    for i, card in enumerate(reply.cards):
        check(f"card {i} title", card.title, limits.EMBED_TITLE)
        check(f"card {i} description", card.description, limits.EMBED_DESCRIPTION)
        check(f"card {i} footer", card.footer, limits.FOOTER)
        if len(card.fields) > limits.EMBED_FIELDS:
            problems.append(f"card {i} has {len(card.fields)} fields (limit {limits.EMBED_FIELDS})")
        for j, f in enumerate(card.fields):
            check(f"card {i} field {j} name", f.name, limits.FIELD_NAME)
            check(f"card {i} field {j} value", f.value, limits.FIELD_VALUE)
            if not f.name.strip() or not f.value.strip():
                problems.append(f"card {i} field {j} is empty")
        total += card.size()
    if total > limits.EMBEDS_TOTAL:
        problems.append(f"embeds total {total} characters (limit {limits.EMBEDS_TOTAL})")
    if len(reply.buttons) > limits.ACTION_ROWS * limits.BUTTONS_PER_ROW:
        problems.append(f"{len(reply.buttons)} buttons (limit {limits.ACTION_ROWS * limits.BUTTONS_PER_ROW})")
    for b in reply.buttons:
        check("button label", b.label, limits.BUTTON_LABEL)
        if b.url is None and not 1 <= len(b.action) <= limits.CUSTOM_ID:
            problems.append(f"button action id is {len(b.action)} characters (1 to {limits.CUSTOM_ID})")
    if len(reply.attachments) > limits.ATTACHMENTS_PER_MESSAGE:
        problems.append(f"{len(reply.attachments)} attachments (limit {limits.ATTACHMENTS_PER_MESSAGE})")
    for a in reply.attachments:
        if len(a.data) > limits.ATTACHMENT_BYTES:
            problems.append(f"attachment {a.filename!r} is {len(a.data):,} bytes (limit {limits.ATTACHMENT_BYTES:,})")
    if not (reply.text.strip() or reply.cards or reply.attachments):
        problems.append("the reply is empty")
    return problems
