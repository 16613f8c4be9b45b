"""arXiv API Atom responses (docs/formats.md#arxiv-atom), https://export.arxiv.org/api/query.

One paper per entry: id without version, title, summary, authors, `published` (v1) date, the abs
and pdf links (the pdf link falls back to https://arxiv.org/pdf/{id}, as it went missing in 2025),
categories with the primary first, and the DOI. An error response (one entry titled "Error")
becomes a ParseError with its text. The digest is dated by --date, else the feed's `updated`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from bot.ingest.formats._common import check_bytes, collapse, fail, iso_date, refuse_dtd, xml_root
from bot.ingest.formats.names import clean_authors
from storage.normalize import links_in_text, parse_arxiv_id
from storage.records import PaperRecord, ParsedDigest

if TYPE_CHECKING:
    from bot.ingest.formats import ParseContext

FORMAT = "arxiv-atom"
DEFAULT_SOURCE = "arxiv-api"

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def sniff(head: str) -> bool:
    text = head.lstrip()
    if not text.startswith("<"):
        return False
    start = text[:8192]
    return re.search(r"<feed[\s>]", start) is not None and "http://www.w3.org/2005/Atom" in start


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]:
    data = stream.read()
    check_bytes(data, ctx.name)
    refuse_dtd(data, ctx.name)
    root = xml_root(data, ctx.name)
    if root.tag != f"{ATOM}feed":
        fail(ctx.name, f"expected an Atom feed (<feed>), found <{root.tag.rsplit('}', 1)[-1]}>")

    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        if collapse(entry.findtext(f"{ATOM}title") or "") == "Error":
            message = collapse(entry.findtext(f"{ATOM}summary") or "") or "no details"
            fail(ctx.name, f"the arXiv API answered an error: {message[:300]}")

    date = ctx.date or iso_date((root.findtext(f"{ATOM}updated") or "").strip())
    if date is None:
        fail(ctx.name, "no date: the feed has no usable <updated>; give --date")

    papers: list[PaperRecord] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, 1):
        record = _entry(entry, index, ctx.name)
        if record.arxiv_id in seen:
            continue
        seen.add(record.arxiv_id or "")
        papers.append(record)
    yield ParsedDigest(source=ctx.source or DEFAULT_SOURCE, date=date, format=FORMAT, papers=papers)


def _entry(entry: ET.Element, index: int, name: str) -> PaperRecord:
    raw_id = (entry.findtext(f"{ATOM}id") or "").strip()
    arxiv_id = parse_arxiv_id(raw_id) if raw_id else None
    if arxiv_id is None:
        fail(name, "expected an arXiv abs URL like http://arxiv.org/abs/2205.14135v2"
                   + (f", found '{raw_id[:80]}'" if raw_id else ""), item=index, field="id")
    title = collapse(entry.findtext(f"{ATOM}title") or "")
    if not title:
        fail(name, "missing (expected the paper's title)", item=index, field="title")
    abstract = collapse(entry.findtext(f"{ATOM}summary") or "")

    # Names as `names.clean_authors` reads them: arXiv's feed sometimes lists an author ":".
    authors = clean_authors(a.findtext(f"{ATOM}name") or "" for a in entry.findall(f"{ATOM}author"))

    categories: list[str] = []
    primary = entry.find(f"{ARXIV}primary_category")
    if primary is not None and primary.get("term", "").strip():
        categories.append(primary.get("term", "").strip())
    for category in entry.findall(f"{ATOM}category"):
        term = category.get("term", "").strip()
        if term and term not in categories:
            categories.append(term)

    links = {"arxiv": f"https://arxiv.org/abs/{arxiv_id}"}
    pdf = None
    for link in entry.findall(f"{ATOM}link"):
        if link.get("title") == "pdf" or link.get("type") == "application/pdf":
            pdf = link.get("href")
    # Canonical, version-less pdf URL, the same whether the feed gave the link or not.
    links["pdf"] = f"https://arxiv.org/pdf/{arxiv_id}" if pdf is None or "arxiv.org/" in pdf else pdf
    doi = collapse(entry.findtext(f"{ARXIV}doi") or "")
    if doi:
        links["doi"] = f"https://doi.org/{doi}"
    comment = collapse(entry.findtext(f"{ARXIV}comment") or "")
    for kind, url in {**links_in_text(comment), **links_in_text(abstract)}.items():
        links.setdefault(kind, url)

    return PaperRecord(title=title, abstract=abstract, arxiv_id=arxiv_id, authors=authors, links=links,
                       categories=categories, published=iso_date((entry.findtext(f"{ATOM}published") or "").strip()))
