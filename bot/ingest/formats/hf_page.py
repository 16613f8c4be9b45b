"""The Hugging Face Daily Papers page copied as plain text (docs/formats.md#hf-page).

    new / Get trending papers in your email inbox! / Subscribe / Daily Papers / byAK and ...
    Sep 9                                   <- the digest date, without a year
    [42 | -]                                <- upvotes (live copies only)
    Title of the paper
    Abstract of the paper, one line.
    [N authors | Organisation] [·] [May 30 | Mar 8, 2024] [comment count]
    [Submitted by / user, Upvote / 42, GitHub 1.54k, arXiv Page, Published on ...] (trending pages)

Lines are classified first (header, date, count, UI label, text); then text lines pair up as
title and abstract. Noise never becomes a title: a text line right after an abstract that is
followed by `·`, a date or an author count is the card's organisation. A card listed twice is
kept once, at its first position.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from bot.ingest.formats._common import MONTHS, clean, fail, read_text
from storage.normalize import links_in_text, title_key
from storage.records import PaperRecord, ParsedDigest

if TYPE_CHECKING:
    from bot.ingest.formats import ParseContext

FORMAT = "hf-page"
DEFAULT_SOURCE = "hf-daily"

_MONTH = (r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
# "Sep 9", "Sept. 9th", "Mar 8, 2024", "September 9 2025".
_DATE_BODY = _MONTH + r"\.?\s{1,8}(\d{1,2})(?:st|nd|rd|th)?(?:,?\s{1,8}(\d{4}))?"
_DATE = re.compile(rf"{_DATE_BODY}$")
_PUBLISHED = re.compile(rf"Published\s{{1,8}}on\s{{0,8}}(?:{_DATE_BODY})?.*$", re.IGNORECASE)
_COUNT = re.compile(r"(\d{1,3}(?:,\d{3}){1,6}|\d{1,12}(?:\.\d{1,6})?[kK]?|[-–—])$")
_AUTHORS = re.compile(r"\d{1,7}\s{1,8}authors?$", re.IGNORECASE)
_COMMENTS = re.compile(r"(\d{1,9})\s{1,8}comments?$", re.IGNORECASE)
_UPVOTE = re.compile(r"Upvotes?(?:\s{0,8}[:·]?\s{0,8}(\d{1,12}(?:\.\d{1,6})?[kK]?|[-–—]))?$", re.IGNORECASE)
_SUBMITTED = re.compile(r"Submitted\s{1,8}by(\s{1,8}\S.*)?$", re.IGNORECASE)
_GITHUB = re.compile(r"GitHub(?:\s{0,8}[·:]?\s{0,8}[\d.,]{1,16}\s{0,8}[kKmM]?)?$")
_HEADER = re.compile(
    r"(new|Subscribe|Daily Papers|Daily|Weekly|Monthly|Trending Papers|Trending"
    r"|Get trending papers in your email inbox.*|by\s{0,8}AK and the research community)$",
    re.IGNORECASE,
)
_LABELS = frozenset({
    "arxiv page", "arxiv", "paper page", "project page", "view arxiv page", "view pdf", "pdf",
    "add to collection", "collections", "papers", "github", "models citing this paper",
    "datasets citing this paper", "spaces citing this paper",
})
_DOT = frozenset({"·", "•", "⋅"})

# Token kinds.
TEXT, DATE, COUNT, AUTHORS, COMMENTS, UPVOTE_LABEL, UPVOTES, SUBMITTED_BY, DOT, NOISE, PUBLISHED, META = range(12)

# Longest plausible title; a longer line in a title slot is a paragraph, not a title.
MAX_TITLE = 400


@dataclass(slots=True)
class _Token:
    kind: int
    line: int
    text: str
    value: int | None = None  # COUNT / UPVOTES / COMMENTS: the number
    dash: bool = False  # COUNT written "-": zero upvotes
    date: tuple[int, int, int | None] | None = None  # DATE / PUBLISHED: (month, day, year)


def _month(name: str) -> int:
    return MONTHS[name[:3].lower()]


def _count(text: str) -> tuple[int, bool]:
    if text in ("-", "–", "—"):
        return 0, True
    text = text.replace(",", "")
    if text[-1] in "kK":
        return int(round(float(text[:-1]) * 1000)), False
    return int(float(text)), False


def _classify(line: str, lineno: int) -> _Token:
    s = line.strip()
    if s in _DOT:
        return _Token(DOT, lineno, s)
    m = _DATE.match(s)
    if m:
        return _Token(DATE, lineno, s, date=(_month(m[1]), int(m[2]), int(m[3]) if m[3] else None))
    m = _COUNT.match(s)
    if m:
        value, dash = _count(s)
        return _Token(COUNT, lineno, s, value=value, dash=dash)
    if _AUTHORS.match(s):
        return _Token(AUTHORS, lineno, s)
    m = _COMMENTS.match(s)
    if m:
        return _Token(COMMENTS, lineno, s, value=int(m[1]))
    m = _UPVOTE.match(s)
    if m:
        if m[1]:
            return _Token(UPVOTES, lineno, s, value=_count(m[1])[0])
        return _Token(UPVOTE_LABEL, lineno, s)
    m = _SUBMITTED.match(s)
    if m:
        # "Submitted by akhaliq" is all noise; a bare "Submitted by" puts the user on the next line.
        return _Token(NOISE if m[1] else SUBMITTED_BY, lineno, s)
    m = _PUBLISHED.match(s)
    if m:
        date = (_month(m[1]), int(m[2]), int(m[3]) if m[3] else None) if m[1] else None
        return _Token(PUBLISHED, lineno, s, date=date)
    if _GITHUB.match(s) or _HEADER.match(s) or s.lower() in _LABELS:
        return _Token(NOISE, lineno, s)
    if "·" in s and _is_meta_line(s):
        # "5 authors · May 30 · 3" on one line: a date and perhaps the comment count.
        date = None
        comments = None
        for part in s.split("·"):
            part = part.strip()
            dm = _DATE.match(part)
            if dm:
                date = (_month(dm[1]), int(dm[2]), int(dm[3]) if dm[3] else None)
            elif _COUNT.match(part) and part not in ("-", "–", "—"):
                comments = _count(part)[0]
            elif _COMMENTS.match(part):
                comments = int(part.split()[0])
        return _Token(META, lineno, s, value=comments, date=date)
    return _Token(TEXT, lineno, s)


def _is_meta_line(s: str) -> bool:
    parts = [p.strip() for p in s.split("·")]
    known = [p for p in parts if not p or _DATE.match(p) or _COUNT.match(p) or _AUTHORS.match(p)
             or _COMMENTS.match(p)]
    # Every part but at most one (an organisation name) is a known piece, and the line is short.
    return len(s) <= 160 and len(parts) - len(known) <= 1 and len(known) >= 1


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            out.append(_classify(line, lineno))
    return out


def infer_year(month: int, day: int, today: dt.date) -> dt.date | None:
    """The most recent `month`/`day` not after `today` (Dec 31 seen on Jan 2 is last year's)."""
    for year in range(today.year, today.year - 9, -1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue  # Feb 29 in a common year
        if candidate <= today:
            return candidate
    return None


def _resolve(date: tuple[int, int, int | None], today: dt.date) -> dt.date | None:
    month, day, year = date
    if year is not None:
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    return infer_year(month, day, today)


def _looks_like_html(text: str) -> bool:
    start = text.lstrip()[:300].lower()
    return start.startswith(("<!doctype", "<html")) or "<html" in start


def sniff(head: str) -> bool:
    start = head.lstrip()[:1]
    if start in ("{", "["):
        return False
    if start == "<":
        # A saved HTML copy of the page: claimed so that the parser can say what to do instead.
        return _looks_like_html(head) and "daily papers" in head.lower()
    for line in head.splitlines()[:400]:
        s = line.strip()
        if s in ("Daily Papers", "Trending Papers") or (len(s) <= 20 and _DATE.match(s)):
            return True
    return False


@dataclass(slots=True)
class _Card:
    title: _Token
    abstract: _Token
    upvotes: int | None = None
    comments: int | None = None
    published: dt.date | None = None


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]:
    text = read_text(stream, ctx.name)
    if _looks_like_html(text):
        fail(ctx.name, "an HTML page, not the page's text: open it in a browser, select all and copy "
                       "the text (or use the JSON API, format hf-api)")
    tokens = _tokens(text)
    cards, page_date = _cards(tokens, ctx)
    if not cards:
        fail(ctx.name, "no papers found: expected a title line followed by an abstract line")
    date = ctx.date or page_date
    if date is None:
        fail(ctx.name, "no date: expected a date line like 'Sep 9' before the papers, or give --date")
    seen: dict[str, PaperRecord] = {}
    papers: list[PaperRecord] = []
    for card in cards:
        record = _record(card)
        key = title_key(record.title) or record.title
        first = seen.get(key)
        if first is not None:
            # The same card again (the live page repeats featured cards): keep the first position,
            # fill in what the first copy lacked.
            first.upvotes = first.upvotes if first.upvotes is not None else record.upvotes
            first.comments = first.comments if first.comments is not None else record.comments
            first.published = first.published or record.published
            continue
        seen[key] = record
        papers.append(record)
    yield ParsedDigest(source=ctx.source or DEFAULT_SOURCE, date=date, format=FORMAT, papers=papers, grows=True)


def _record(card: _Card) -> PaperRecord:
    title = clean(card.title.text)
    abstract = clean(card.abstract.text)
    # Page text carries no arXiv ids (an abstract's arXiv URLs may name other papers: not used).
    links = links_in_text(abstract)
    return PaperRecord(title=title, abstract=abstract, links=links,
                       published=card.published, upvotes=card.upvotes, comments=card.comments)


def _cards(tokens: list[_Token], ctx: ParseContext) -> tuple[list[_Card], dt.date | None]:
    """Pair text lines into cards; returns them with the page's date (None when it has none)."""
    n = len(tokens)
    # Where the papers start: the first text line that is not the user after "Submitted by".
    first = _first_text(tokens)
    page_date: dt.date | None = None
    for tok in tokens[:first]:
        if tok.kind == DATE and tok.date is not None:
            page_date = _resolve(tok.date, ctx.today)
            if page_date is None:
                fail(ctx.name, f"'{tok.text}' is not a valid date", line=tok.line)
            break
    # Do the cards show an upvote count before the title? Then a lone number after a card is the
    # next card's upvotes, not this card's comment count.
    has_upvotes = any(t.kind in (COUNT, UPVOTES, UPVOTE_LABEL) for t in tokens[:first]) or any(
        t.kind == COUNT and t.dash for t in tokens)
    reference = ctx.date or page_date or ctx.today

    cards: list[_Card] = []
    numbers: list[_Token] = []  # counts since the last abstract
    explicit_upvotes: int | None = None
    i = 0
    while i < n:
        tok = tokens[i]
        kind = tok.kind
        if kind == COUNT:
            numbers.append(tok)
        elif kind == UPVOTES:
            explicit_upvotes = tok.value
        elif kind == UPVOTE_LABEL:
            if i + 1 < n and tokens[i + 1].kind == COUNT:
                explicit_upvotes = tokens[i + 1].value
                i += 1
        elif kind == COMMENTS:
            if cards:
                cards[-1].comments = tok.value
        elif kind == SUBMITTED_BY:
            if i + 1 < n and tokens[i + 1].kind == TEXT and len(tokens[i + 1].text) <= 60:
                i += 1  # the user name
        elif kind in (DATE, PUBLISHED, META):
            if cards and tok.date is not None and cards[-1].published is None:
                cards[-1].published = _resolve(tok.date, reference)
            if kind == META and cards and tok.value is not None:
                cards[-1].comments = tok.value
        elif kind == TEXT:
            if cards and _is_organisation(tokens, i, cards[-1]):
                i += 1
                continue
            card, i = _card(tokens, i, ctx)
            _assign_numbers(cards[-1] if cards else None, card, numbers, explicit_upvotes, has_upvotes)
            numbers = []
            explicit_upvotes = None
            cards.append(card)
            continue
        i += 1
    if cards and numbers and not numbers[-1].dash and cards[-1].comments is None:
        cards[-1].comments = numbers[-1].value
    return cards, page_date


def _first_text(tokens: list[_Token]) -> int:
    i = 0
    while i < len(tokens):
        if tokens[i].kind == SUBMITTED_BY:
            i += 2
            continue
        if tokens[i].kind == TEXT:
            return i
        i += 1
    return len(tokens)


def _is_organisation(tokens: list[_Token], i: int, previous: _Card) -> bool:
    """A short text line right after an abstract and followed by `·`, a date or an author count."""
    if tokens[i - 1] is not previous.abstract and tokens[i - 1].kind not in (AUTHORS, DOT):
        return False
    if len(tokens[i].text) > 100:
        return False
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    return nxt is not None and nxt.kind in (DOT, DATE, AUTHORS, PUBLISHED, META)


def _card(tokens: list[_Token], i: int, ctx: ParseContext) -> tuple[_Card, int]:
    """The card whose title is tokens[i]; returns it and the index after its abstract."""
    title = tokens[i]
    if len(title.text) > MAX_TITLE:
        fail(ctx.name, "expected a title line, found a long paragraph (is a title missing, or an abstract "
                       "split in two?)", line=title.line)
    j = i + 1
    # Trending cards can put UI labels between the title and the abstract.
    while j < len(tokens) and tokens[j].kind in (NOISE, SUBMITTED_BY):
        if tokens[j].kind == SUBMITTED_BY and j + 1 < len(tokens) and tokens[j + 1].kind == TEXT:
            j += 1
        j += 1
    if j >= len(tokens) or tokens[j].kind != TEXT:
        fail(ctx.name, f"the title '{_short(title.text)}' has no abstract line after it", line=title.line)
    abstract = tokens[j]
    after = tokens[j + 1] if j + 1 < len(tokens) else None
    if (after is not None and after.kind == TEXT and _title_like(abstract.text)
            and len(after.text) > max(300, 3 * len(abstract.text))):
        # "Title A / Title B / abstract of B": A lost its abstract.
        fail(ctx.name, f"the title '{_short(title.text)}' has no abstract line after it", line=title.line)
    return _Card(title=title, abstract=abstract), j + 1


def _title_like(text: str) -> bool:
    return len(text) <= 250 and not text.rstrip().endswith((".", "!", "?", ":"))


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _assign_numbers(previous: _Card | None, card: _Card, numbers: list[_Token], explicit: int | None,
                    has_upvotes: bool) -> None:
    """Counts between two cards: the new card's upvotes (when cards show them) and the previous card's comments."""
    rest = list(numbers)
    if explicit is not None:
        card.upvotes = explicit
    elif rest and (rest[-1].dash or has_upvotes):
        card.upvotes = rest.pop().value
    if previous is not None and previous.comments is None:
        for tok in reversed(rest):
            if not tok.dash:
                previous.comments = tok.value
                break
