"""A notification as a Reply: the matched papers grouped by topic, capped, fitted to Discord.

One card; one field per topic (continued in further fields when long), each paper a line with its
link, the words that matched and, when the summary code is present, its one-line takeaway.
Papers beyond the user's cap are counted in the footer ("and 4 more"). Every piece of paper text
goes through `limits.safe`; the only mention is the recipient's own, in channel notifications.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.chat import limits
from bot.chat.replies import Card, Field, Reply, violations
from bot.display.titles import shown_title
from storage.notifications import NotificationRecord
from storage.records import StoredPaper

_SAFE_URL = re.compile(r"^https?://[^\s<>()\[\]\"'`\\]{1,500}$")
_TOTAL_BUDGET = limits.EMBEDS_TOTAL - 800  # title, footer, field names and slack
_LINE_MAX = 450
_TITLE_MAX = 150
_FIELD_BUDGET = limits.FIELD_VALUE - 24


def _load_takeaway() -> Callable[[str], str] | None:
    """bot.summary.takeaways.takeaway when that code is installed (it is optional here)."""
    try:
        module: Any = importlib.import_module("bot.summary.takeaways")
    except ImportError:
        return None
    found = getattr(module, "takeaway", None)
    return found if callable(found) else None


TAKEAWAY = _load_takeaway()


def mention(user_id: str) -> str:
    """How a channel message addresses the user: <@id> on Discord, @name in the console."""
    platform, _, local = user_id.partition(":")
    return f"<@{local}>" if platform == "discord" else f"@{local}"


def paper_url(paper: StoredPaper) -> str | None:
    for url in (paper.links.get("arxiv"), f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None,
                *paper.links.values()):
        if url and _SAFE_URL.match(url):
            return url
    return None


def _line(paper: StoredPaper | None, title: str, terms: tuple[str, ...], budget: int,
          takeaway: Callable[[str], str] | None) -> str:
    shown = limits.safe(shown_title(paper.title if paper else title), _TITLE_MAX)
    url = paper_url(paper) if paper else None
    head = f"• [{shown}]({url})" if url else f"• {shown}"
    words = limits.safe(", ".join(terms), 80)
    line = f"{head} — matched: {words}" if words else head
    room = budget - len(line) - 3
    if takeaway is not None and paper is not None and paper.abstract and room > 40:
        text = takeaway(paper.abstract)
        if text:
            line += "\n  " + limits.safe(" ".join(text.split()), room)
    return line if len(line) <= budget else limits.truncate(line, budget)


def _fields(name: str, lines: list[str]) -> list[Field]:
    """One field per topic, continued in further fields so no value passes Discord's 1024."""
    fields: list[Field] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > _FIELD_BUDGET:
            fields.append(Field(name if not fields else f"{name} (continued)"[:limits.FIELD_NAME], "\n".join(chunk)))
            chunk = []
        chunk.append(line[:_FIELD_BUDGET])
    if chunk:
        fields.append(Field(name if not fields else f"{name} (continued)"[:limits.FIELD_NAME], "\n".join(chunk)))
    return fields


def render_notification(record: NotificationRecord, papers: Mapping[int, StoredPaper],
                        topic_names: Mapping[str, str], *, cap: int, channel: bool = False,
                        takeaway: Callable[[str], str] | None = TAKEAWAY) -> Reply:
    """The message for `record`. `topic_names` maps canonical queries to what the user typed."""
    shown = record.papers[:max(cap, 1)]
    more = len(record.papers) - len(shown)
    budget = min(_LINE_MAX, _TOTAL_BUDGET // max(len(shown), 1))
    groups: dict[str, list[str]] = {}
    for item in shown:
        topic = item.topics[0] if item.topics else ""
        groups.setdefault(topic, []).append(
            _line(papers.get(item.paper_id), item.title, item.terms, budget, takeaway))
    fields: list[Field] = []
    for topic, lines in groups.items():
        name = limits.safe(topic_names.get(topic, topic) or "your topics", 200)
        fields += _fields(name, lines)
    count = len(record.papers)
    where = f" in {record.digest_source} {record.digest_date.isoformat()}" if record.digest_date else ""
    card = Card(
        title=limits.truncate(f"{count} new paper{'s' if count != 1 else ''} for your topics{where}",
                              limits.EMBED_TITLE),
        fields=fields[:limits.EMBED_FIELDS],
        footer=(f"and {more} more matching paper{'s' if more != 1 else ''} not listed · " if more else "")
        + "You follow these topics with Paperboy; ask it why a paper was (not) sent.",
    )
    text = f"{mention(record.user_id)} papers matching your topics:" if channel else ""
    reply = Reply(text=text, cards=[card], private=not channel)
    problems = violations(reply)
    if problems:  # cannot happen with the budgets above; never send a message Discord would refuse
        raise ValueError(f"notification {record.id} does not fit: {problems}")
    return reply
