"""The daily summary of one digest, as data: header, themes, highlights and the grouped full list.

`compose` reads the digest and a few archive statistics (small queries, one vocabulary lookup and
the candidate phrases' counts, cached where costly) and does the rest in memory. Rendering lives in
bot.summary.render; the same `Summary` becomes Discord pages, plain text and JSON.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass

from bot.display.titles import shown_title
from bot.summary import takeaways, themes
from storage import digests as digest_repo
from storage.db import Database
from storage.normalize import links_in_text
from storage.records import DigestEntry, DigestInfo

OTHER = "Other"
MAX_KEYWORDS = 8
MIN_GROUP = 2  # a theme is shared by at least this many papers of its own


@dataclass(slots=True, frozen=True)
class PaperItem:
    """A paper as the summary lists it (text as stored: render escapes it)."""

    paper_id: int
    position: int
    title: str
    arxiv_id: str | None
    upvotes: int | None
    links: dict[str, str]  # "arxiv", "code", "project" -> URL, only those known


@dataclass(slots=True, frozen=True)
class Highlight:
    paper: PaperItem
    takeaway: str  # the abstract's result sentence
    figures: tuple[takeaways.Figure, ...]
    tldr: str | None = None  # a one-line TL;DR, when [llm] is on and one is cached (bot.llm)


@dataclass(slots=True, frozen=True)
class Group:
    """A theme's papers in the full list (the last group is "Other")."""

    label: str
    papers: tuple[PaperItem, ...]


@dataclass(slots=True, frozen=True)
class Summary:
    digest_id: int
    source: str
    date: dt.date
    papers: int
    new: int  # papers not listed in any earlier digest
    ranked_by: str  # "upvotes" or "source order": how highlights were picked
    themes: tuple[themes.Theme, ...]
    keywords: tuple[tuple[str, int], ...]  # the source's own keywords with their paper counts
    highlights: tuple[Highlight, ...]
    groups: tuple[Group, ...]
    overview: str | None = None  # "today in papers", when [llm] is on and one is cached (bot.llm)


def _links(entry: DigestEntry) -> dict[str, str]:
    paper = entry.paper
    found: dict[str, str] = {}
    arxiv = paper.links.get("arxiv") or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None)
    if arxiv:
        found["arxiv"] = arxiv
    mentioned = links_in_text(paper.abstract)
    code = paper.links.get("github") or paper.links.get("code") or mentioned.get("github")
    if code:
        found["code"] = code
    project = paper.links.get("project")
    if project:
        found["project"] = project
    return found


def _item(entry: DigestEntry) -> PaperItem:
    # Shown readable ("$\\beta$-OPSD" as "β-OPSD"); the archive keeps the title as written, for matching.
    return PaperItem(entry.paper.id, entry.position, shown_title(entry.paper.title), entry.paper.arxiv_id,
                     entry.upvotes, _links(entry))


def _keywords(entries: list[DigestEntry]) -> tuple[tuple[str, int], ...]:
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for e in entries:
        seen = {k.strip().casefold(): k.strip() for k in e.paper.keywords if k.strip()}
        for key, form in seen.items():
            counts[key] += 1
            forms.setdefault(key, Counter())[form] += 1
    top = sorted((k for k, n in counts.items() if n >= 2), key=lambda k: (-counts[k], k))[:MAX_KEYWORDS]
    return tuple((forms[k].most_common(1)[0][0], counts[k]) for k in top)


def _ranked(entries: list[DigestEntry]) -> tuple[list[DigestEntry], str]:
    if any(e.upvotes is not None for e in entries):
        return sorted(entries, key=lambda e: (-(e.upvotes or 0), e.position)), "upvotes"
    return list(entries), "source order"


def _grouped(found: list[themes.Theme], paper_ids: list[int]) -> tuple[list[themes.Theme], dict[int, int | None]]:
    """The themes as the full list groups them: each paper under its best theme only, a theme left
    with fewer than `MIN_GROUP` papers of its own dropped (its papers go to the next theme that has
    them, or Other), and each theme's papers those of its group, so that the header's counts are
    the list's."""
    while True:
        theme_of = themes.assign(found, paper_ids)
        sizes = Counter(theme_of.values())
        kept = [t for i, t in enumerate(found) if sizes[i] >= MIN_GROUP]
        if len(kept) == len(found):
            break
        found = kept
    members: list[list[int]] = [[] for _ in found]
    for pid in paper_ids:
        index = theme_of[pid]
        if index is not None:
            members[index].append(pid)
    grouped = [themes.Theme(t.label, tuple(ids), t.score) for t, ids in zip(found, members, strict=True)]
    return grouped, theme_of


async def compose(db: Database, digest: DigestInfo, *, highlights: int = 5, max_themes: int = 6,
                  cache: bool = True) -> Summary:
    """The summary of `digest` (deterministic: the same archive gives the same summary).

    The work in memory runs in worker threads (bot.summary.themes.find, then `_assemble`): a
    digest of tens of thousands of papers takes seconds, during which the event loop keeps
    answering other commands. `cache=False`: every archive count taken afresh (the bench's baseline)."""
    entries = await digest_repo.digest_entries(db, digest.id)
    seen = await digest_repo.papers_seen_before(db, digest)
    docs = (themes.Document(e.paper.id, e.paper.title, e.paper.abstract) for e in entries)  # read in the thread
    found = await themes.find(db, docs, max_themes=max_themes, cache=cache)
    return await asyncio.to_thread(_assemble, digest, entries, seen, found, highlights)


def _assemble(digest: DigestInfo, entries: list[DigestEntry], seen: int, found: list[themes.Theme],
              highlights: int) -> Summary:
    ranked, ranked_by = _ranked(entries)
    picked = tuple(
        Highlight(_item(e), takeaways.takeaway(e.paper.abstract), tuple(takeaways.figures(e.paper.abstract)))
        for e in ranked[:max(highlights, 0)]
    )
    found, theme_of = _grouped(found, [e.paper.id for e in entries])
    buckets: list[list[PaperItem]] = [[] for _ in range(len(found) + 1)]
    for e in entries:
        index = theme_of[e.paper.id]
        buckets[len(found) if index is None else index].append(_item(e))
    labels = [t.label for t in found] + [OTHER]
    groups = tuple(Group(label, tuple(items)) for label, items in zip(labels, buckets, strict=True) if items)
    return Summary(digest.id, digest.source, digest.date, len(entries), len(entries) - seen, ranked_by,
                   tuple(found), _keywords(entries), picked, groups)
