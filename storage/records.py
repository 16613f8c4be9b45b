"""Plain records that flow between the digest parsers, the loader and the repositories.

Parsers produce `PaperRecord`s grouped in `ParsedDigest`s; the loader turns them into
rows and reports a `LoadResult`. Stored rows come back as `StoredPaper` and `DigestInfo`.
Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(slots=True)
class PaperRecord:
    """One paper as a digest lists it, already cleaned (white space collapsed, entities unescaped)."""

    title: str
    abstract: str
    arxiv_id: str | None = None  # without version, e.g. "2306.07629" or "hep-th/9901001"
    authors: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # kind ("arxiv", "pdf", "github", "project") -> URL
    categories: list[str] = field(default_factory=list)  # primary first
    keywords: list[str] = field(default_factory=list)  # e.g. Hugging Face ai_keywords
    ai_summary: str | None = None
    published: dt.date | None = None  # first version's date when the source says
    upvotes: int | None = None  # per-listing figures, stored on the digest entry
    comments: int | None = None
    position: int | None = None  # set by partial batches; otherwise the order in the batch


@dataclass(slots=True)
class ParsedDigest:
    """A dated list of papers from one source.

    `complete` is True when the batch is the whole digest as the source published it (loading it
    again replaces the digest's entries). Streaming formats (the arXiv snapshot, Paperboy's own
    export) yield partial batches (`complete=False`) whose entries are added to the digest.

    `grows` says the source's day only grows (Hugging Face adds papers and upvotes during the
    day): a smaller or older capture of the day then adds to it and never removes entries or lowers
    figures, unless the load is told to prune (`Loader.load_many(prune=True)`).
    """

    source: str  # e.g. "hf-daily", "arxiv-rss:cs.LG", "arxiv-api", "arxiv-snapshot"
    date: dt.date
    format: str  # one of bot.ingest.formats.FORMATS
    papers: list[PaperRecord]
    complete: bool = True
    grows: bool = False


@dataclass(slots=True, frozen=True)
class LoadResult:
    """What loading one digest did."""

    source: str
    date: dt.date
    format: str
    papers: int  # entries in the batch
    new: int  # papers new to the archive
    merged: int  # title-only papers that gained an arXiv id from this batch
    updated: int  # existing papers whose stored text changed
    unchanged: bool  # the digest was already stored exactly like this
    digest_id: int
    paper_ids: tuple[int, ...] = ()  # the papers this batch listed (empty when unchanged)
    kept: int = 0  # entries a smaller capture of a growing day lacked, kept in the digest
    removed: int = 0  # entries the load removed from the digest (a complete re-load, or pruning)


@dataclass(slots=True, frozen=True)
class StoredPaper:
    id: int
    title: str
    abstract: str
    arxiv_id: str | None
    authors: list[str]
    links: dict[str, str]
    categories: list[str]
    keywords: list[str]
    ai_summary: str | None
    published: dt.date | None


# Formats whose "digests" are an archive import's days (the loaded format is stored per digest).
ARCHIVE_FORMATS = ("arxiv-snapshot",)


@dataclass(slots=True, frozen=True)
class DigestInfo:
    id: int
    source: str
    date: dt.date
    format: str
    papers: int
    fetched_at: dt.datetime
    updated_at: dt.datetime

    @property
    def kind(self) -> str:
        """"daily" (a day's listing) or "archive" (one first-version day of an archive import such
        as the arXiv snapshot: not what a source announced that day)."""
        return "archive" if self.format in ARCHIVE_FORMATS else "daily"


@dataclass(slots=True, frozen=True)
class DigestEntry:
    """A paper as listed in one digest."""

    paper: StoredPaper
    position: int
    upvotes: int | None
    comments: int | None
