"""What one paper may cost: every parser's output passes through `bounded` (bot.ingest.formats.parse).

A hostile or broken digest can hold an abstract of megabytes, ten thousand authors or an upvote
count of 10**30. Text beyond the limits below is cut (at a word boundary, marked with "…"),
lists beyond their length are shortened, counts outside their range are clamped, NUL characters
(which a JSON digest can escape, and PostgreSQL's text refuses) are removed, and each change is
noted (file, item, field) for the ingest report. Digest dates must fall between arXiv's start
and a couple of days after today: a complete digest dated otherwise is refused; a paper of a
streaming file (snapshot, export) dated otherwise is skipped and noted, as a bad line is.

The limits, generous for real papers (arXiv caps abstracts at 1,920 characters and titles are
rarely over 300), are documented in docs/formats.md ("Limits at ingest").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from storage.errors import ParseError
from storage.normalize import strip_nul
from storage.records import PaperRecord, ParsedDigest

TITLE_CHARS = 500
ABSTRACT_CHARS = 5_000
SUMMARY_CHARS = 2_000  # ai_summary
AUTHORS = 1_000  # names kept per paper (large collaborations list thousands)
AUTHOR_CHARS = 200
LIST_ITEMS = 50  # categories, keywords, links per paper
ITEM_CHARS = 200  # one category or keyword
URL_CHARS = 2_000
MAX_COUNT = 1_000_000_000  # upvotes, comments: clamped to 0..MAX_COUNT
MAX_POSITION = 2**31 - 1  # a position in a digest: clamped to 0..MAX_POSITION
FIRST_DATE = dt.date(1991, 8, 1)  # arXiv opened in August 1991
FUTURE_DAYS = 2  # a digest may be dated up to this many days after today (time zones, early releases)
NOTES_KEPT = 20  # notes listed in a report; beyond, only counted

Note = Callable[[str], None]  # records one note about the paper at hand


@dataclass(slots=True)
class Notes:
    """What an ingest cut, clamped or skipped, for its report: the first NOTES_KEPT lines, and a count."""

    lines: list[str] = field(default_factory=list)
    more: int = 0
    skipped: int = 0  # lines of a streamed file (or papers) skipped: the load is not all there
    stopped: ParseError | None = None  # a streamed file had too many bad lines: raised after the last batch

    def add(self, line: str) -> None:
        if len(self.lines) < NOTES_KEPT:
            self.lines.append(line)
        else:
            self.more += 1

    def absorb(self, other: Notes) -> None:
        for line in other.lines:
            self.add(line)
        self.more += other.more
        self.skipped += other.skipped

    def drain(self) -> Notes:
        """The notes so far, leaving this empty (a worker process sends them on in pieces)."""
        taken = Notes(self.lines, self.more, self.skipped)
        self.lines, self.more, self.skipped = [], 0, 0
        return taken

    def report(self) -> list[str]:
        return self.lines + ([f"… and {self.more:,} more notes like these"] if self.more else [])


def date_problem(day: dt.date, today: dt.date) -> str | None:
    """Why `day` cannot be a digest's date, or None when it can."""
    if day < FIRST_DATE:
        return f"the date {day.isoformat()} is before arXiv existed ({FIRST_DATE.year})"
    if day > today + dt.timedelta(days=FUTURE_DAYS):
        return f"the date {day.isoformat()} is more than {FUTURE_DAYS} days in the future"
    return None


def bounded(batches: Iterator[ParsedDigest], name: str, today: dt.date, notes: Notes) -> Iterator[ParsedDigest]:
    """The batches with every paper held to the limits above; what was cut goes to `notes`.
    `today` (the parse's, which may be set for year inference) or the clock's, whichever is later,
    is what the future is counted from."""
    latest = min(max(today, dt.date.today()), dt.date.max - dt.timedelta(days=FUTURE_DAYS))
    for digest in batches:
        problem = date_problem(digest.date, latest)
        if problem is not None:
            if digest.complete:
                raise ParseError(name, f"{problem}; a digest's date must be from {FIRST_DATE.isoformat()} "
                                       f"to {FUTURE_DAYS} days after today", field="date")
            where = ", ".join(_where(i, p, digest) for i, p in enumerate(digest.papers[:5], 1))
            if len(digest.papers) > 5:
                where += f" and {len(digest.papers) - 5:,} more"
            notes.add(f"{name}: {problem}: skipped {where}")
            notes.skipped += len(digest.papers)
            continue
        for i, paper in enumerate(digest.papers, 1):
            stripped = strip_nul(paper)
            if stripped:
                notes.add(f"{name}, {_where(i, paper, digest)}: NUL characters removed from {', '.join(stripped)}")
            if _over(paper):
                prefix = f"{name}, {_where(i, paper, digest)}: "
                _bound_paper(paper, lambda what: notes.add(prefix + what))  # noqa: B023 - called at once
        yield digest
    if notes.stopped is not None:
        raise notes.stopped


def _over(p: PaperRecord) -> bool:
    """Whether anything in `p` is beyond a limit. The bulk loader's hot path: plain loops and
    comparisons, returning at the first hit."""
    if len(p.title) > TITLE_CHARS or len(p.abstract) > ABSTRACT_CHARS:
        return True
    if p.ai_summary is not None and len(p.ai_summary) > SUMMARY_CHARS:
        return True
    if len(p.authors) > AUTHORS or len(p.categories) > LIST_ITEMS or len(p.keywords) > LIST_ITEMS \
            or len(p.links) > LIST_ITEMS:
        return True
    for text in p.authors:
        if len(text) > AUTHOR_CHARS:
            return True
    for text in p.categories + p.keywords:
        if len(text) > ITEM_CHARS:
            return True
    for text in p.links.values():
        if len(text) > URL_CHARS:
            return True
    return ((p.upvotes is not None and not 0 <= p.upvotes <= MAX_COUNT)
            or (p.comments is not None and not 0 <= p.comments <= MAX_COUNT)
            or (p.position is not None and not 0 <= p.position <= MAX_POSITION))


def _where(item: int, paper: PaperRecord, digest: ParsedDigest) -> str:
    """The paper as a user can find it: its item in a digest, its line in a snapshot (its position
    there), else (an export's listing) its id or title."""
    if digest.complete:
        place = f"item {item}"
    elif digest.format == "arxiv-snapshot" and paper.position is not None:
        place = f"line {paper.position}"
    else:
        place = "paper" if paper.arxiv_id else f"paper “{paper.title[:60]}”"
    return place + (f" (arXiv {paper.arxiv_id})" if paper.arxiv_id else "")


def _bound_paper(p: PaperRecord, note: Note) -> None:
    p.title = _cut(p.title, TITLE_CHARS, "title", note)
    p.abstract = _cut(p.abstract, ABSTRACT_CHARS, "abstract", note)
    if p.ai_summary is not None:
        p.ai_summary = _cut(p.ai_summary, SUMMARY_CHARS, "ai_summary", note)
    p.authors = _cut_list(p.authors, AUTHORS, AUTHOR_CHARS, "authors", note)
    p.categories = _cut_list(p.categories, LIST_ITEMS, ITEM_CHARS, "categories", note)
    p.keywords = _cut_list(p.keywords, LIST_ITEMS, ITEM_CHARS, "keywords", note)
    if len(p.links) > LIST_ITEMS or any(len(url) > URL_CHARS for url in p.links.values()):
        kept = {k[:ITEM_CHARS]: url for k, url in list(p.links.items())[:LIST_ITEMS] if len(url) <= URL_CHARS}
        note(f"links: {len(p.links) - len(kept):,} of {len(p.links):,} dropped (over {LIST_ITEMS} links "
             f"or {URL_CHARS:,} characters)")
        p.links = kept
    p.upvotes = _clamp(p.upvotes, MAX_COUNT, "upvotes", note)
    p.comments = _clamp(p.comments, MAX_COUNT, "comments", note)
    p.position = _clamp(p.position, MAX_POSITION, "position", note)


def _cut(text: str, limit: int, what: str, note: Note) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    note(f"{what} cut from {len(text):,} to {len(head) + 1:,} characters")
    return head + "…"


def _cut_list(items: list[str], count: int, chars: int, what: str, note: Note) -> list[str]:
    if len(items) <= count and all(len(x) <= chars for x in items):
        return items
    kept = [_cut(x, chars, what, _silent) for x in items[:count]]
    note(f"{what}: {len(items):,} kept as {len(kept):,}, each at most {chars:,} characters")
    return kept


def _silent(what: str) -> None:
    return None


def _clamp(value: int | None, top: int, what: str, note: Note) -> int | None:
    if value is None or 0 <= value <= top:
        return value
    kept = min(max(value, 0), top)
    shown = str(value) if len(str(value)) <= 30 else f"a {len(str(value))}-digit number"
    note(f"{what}: {shown}, outside 0 to {top:,}: stored as {kept:,}")
    return kept
