"""Every answer is checked before it is used, and dropped (with the reason) when it fails.

What a model writes is untrusted, whatever the prompt said: it may be too long, may ping people,
may carry a link, may state a figure the paper never gave (invented, or planted by an abstract
that talks to the model). An answer passes only when it is the right length, has no mention and
no link at all (the post and the card show the paper's own links; a summary needs none), and
every number it states appears in the text the model was given. Deterministic, no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.chat.limits import clean_user_text

TLDR_MAX = 300
OVERVIEW_MAX = 700
_MIN = 15

_LABEL = re.compile(r"^\s*(?:\*\*)?(?:tl;?dr|summary|today in papers)(?:\*\*)?\s*[:\-–—]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’`"
# Every repetition is bounded: an answer is untrusted text, and an unbounded run would make a
# search over a long one quadratic.
_MENTION = re.compile(r"@(?:everyone|here)\b|<[@#][!&]?\d{0,20}>?|(?<![\w.])@[A-Za-z0-9_]")
_LINK = re.compile(r"\b(?:https?|ftp)://|\bwww\.|(?<![\w-])[\w-]{1,63}\.(?:com|org|net|io|ai|dev|app|xyz|ly|co|gg|me"
                   r"|info|biz)\b|\[[^\]\n]{0,200}\]\(", re.IGNORECASE)
_NUMBER = re.compile(r"\d{1,40}(?:[.,]\d{1,40}){0,10}")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]{0,4}(?=\s{1,8}[A-Z\"“(]|\s{0,8}$)")
_REFUSAL = re.compile(r"^(?:i'?m sorry|sorry|i cannot|i can'?t|i am unable|as an ai|i will not|i won'?t)\b",
                      re.IGNORECASE)
_MARKUP = re.compile(r"```|^#{1,6}\s|<\s{0,8}/?\s{0,8}paper\b|\n[^\S\n]{0,8}[-*•]\s", re.IGNORECASE | re.MULTILINE)


@dataclass(slots=True, frozen=True)
class Verdict:
    """`text` (cleaned) when the answer can be used; otherwise None and the `problem`."""

    text: str | None
    problem: str | None = None


def _numbers(text: str) -> set[str]:
    """The numbers in `text`, thousands separators dropped ("1,024" and "1024" are one figure)."""
    found = set()
    for m in _NUMBER.finditer(text):
        token = m.group(0).rstrip(".,")
        found.add(re.sub(r"(?<=\d),(?=\d{3}\b)", "", token))
    return found


def sentences(text: str) -> int:
    return len(_SENTENCE_END.findall(text)) or 1


def _clean(answer: str) -> str:
    text = clean_user_text(answer).strip()
    text = _LABEL.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


def _common(raw: str, source: str, limit: int) -> Verdict:
    if _MARKUP.search(raw):
        return Verdict(None, "formatted as markdown or a list, not plain sentences")
    text = " ".join(_clean(raw).split())
    if len(text) < _MIN:
        return Verdict(None, "empty or too short")
    if len(text) > limit:
        return Verdict(None, f"too long ({len(text)} characters; at most {limit})")
    if _REFUSAL.match(text):
        return Verdict(None, "not a summary (a refusal or an aside)")
    if _MENTION.search(text):
        return Verdict(None, "mentions someone (@…): never in a summary")
    if _LINK.search(text):
        return Verdict(None, "holds a link: never in a summary")
    known = _numbers(source)
    invented = sorted(_numbers(text) - known)
    if invented:
        return Verdict(None, f"states {', '.join(invented[:3])}, which the paper's text does not")
    return Verdict(text)


def check_tldr(answer: str, source: str) -> Verdict:
    """A paper's TL;DR: one line, at most two sentences and `TLDR_MAX` characters, grounded in `source`."""
    verdict = _common(answer, source, TLDR_MAX)
    if verdict.text is not None and sentences(verdict.text) > 2:
        return Verdict(None, f"{sentences(verdict.text)} sentences; a TL;DR is one")
    return verdict


def check_overview(answer: str, source: str) -> Verdict:
    """The day's paragraph: two or three sentences, at most `OVERVIEW_MAX` characters, grounded in `source`."""
    verdict = _common(answer, source, OVERVIEW_MAX)
    if verdict.text is not None and not 2 <= sentences(verdict.text) <= 3:
        return Verdict(None, f"{sentences(verdict.text)} sentence(s); the paragraph has two or three")
    return verdict
