"""arXiv RSS 2.0 listings (docs/formats.md#arxiv-rss), e.g. https://rss.arxiv.org/rss/cs.LG.

Keeps the items whose announce type is in `ctx.announce_types` (by default `new` and `cross`;
`replace*` re-announce old papers). The digest is dated by the channel's `pubDate` (else
`lastBuildDate`); --date overrides. An empty channel (weekends, holidays) is a digest of no papers,
but arXiv's error reply (a channel titled "Feed error for query: …", e.g. for a misspelt archive)
is an error naming the feed. Names are read by `names.clean_authors` (TeX to Unicode, affiliations
in parentheses dropped); `arxiv:DOI` becomes the "doi" link.
XML entities are unescaped once, by the XML parser; a DOCTYPE is refused (entity expansion).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from bot.ingest.formats._common import check_bytes, collapse, fail, refuse_dtd, rfc822_date, split_authors, xml_root
from bot.ingest.formats.names import clean_authors
from storage.normalize import arxiv_links, links_in_text, parse_arxiv_id
from storage.records import PaperRecord, ParsedDigest

if TYPE_CHECKING:
    from bot.ingest.formats import ParseContext

FORMAT = "arxiv-rss"
DEFAULT_SOURCE = "arxiv-rss"

ARXIV_NS = "{http://arxiv.org/schemas/atom}"
DC_NS = "{http://purl.org/dc/elements/1.1/}"

_ANNOUNCE = re.compile(r"Announce Type:\s*([\w-]+)", re.IGNORECASE)
_DESCRIPTION_ID = re.compile(r"^\s*arXiv:(\S+)", re.IGNORECASE)
_FEED_ERROR = re.compile(r"^\s*feed error for query", re.IGNORECASE)
_CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z-]+)?(?:\+[a-z][a-z-]*(?:\.[A-Za-z-]+)?)*$")


def sniff(head: str) -> bool:
    text = head.lstrip()
    return text.startswith("<") and re.search(r"<rss[\s>]", text[:8192]) is not None


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]:
    data = stream.read()
    check_bytes(data, ctx.name)
    refuse_dtd(data, ctx.name)
    root = xml_root(data, ctx.name)
    if root.tag != "rss":
        fail(ctx.name, f"expected an RSS feed (<rss>), found <{_local(root.tag)}>")
    channel = root.find("channel")
    if channel is None:
        fail(ctx.name, "expected a <channel> in the RSS feed")

    _refuse_error_reply(channel, ctx.name)
    date = ctx.date or rfc822_date(channel.findtext("pubDate")) or rfc822_date(channel.findtext("lastBuildDate"))
    if date is None:
        fail(ctx.name, "no date: the channel has no usable pubDate or lastBuildDate; give --date")

    papers: list[PaperRecord] = []
    seen: set[str] = set()
    for index, item in enumerate(channel.iter("item"), 1):
        record = _item(item, index, ctx)
        if record is None or record.arxiv_id in seen:
            continue
        seen.add(record.arxiv_id or "")
        papers.append(record)
    yield ParsedDigest(source=ctx.source or _source(channel), date=date, format=FORMAT, papers=papers)


def _refuse_error_reply(channel: ET.Element, name: str) -> None:
    """arXiv answers a bad query (an unknown archive) with a channel titled "Feed error for query: …"
    and no items: that is not an empty day."""
    title = collapse(channel.findtext("title") or "")
    if _FEED_ERROR.match(title):
        detail = collapse(channel.findtext("description") or "")
        link = collapse(channel.findtext("link") or "")
        feed = f" (feed {link})" if link else ""
        more = f": {detail[:200]}" if detail and detail != title else ""
        fail(name, f"arXiv answered an error, not a feed{feed}: {title[:200]}{more}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _source(channel: ET.Element) -> str:
    """`arxiv-rss:cs.LG` from the channel title ("cs.LG updates on arXiv.org") or link (".../rss/cs.LG")."""
    title = collapse(channel.findtext("title") or "")
    first = title.split(" ", 1)[0] if title else ""
    if first and _CATEGORY.match(first):
        return f"{DEFAULT_SOURCE}:{first}"
    link = (channel.findtext("link") or "").strip().rstrip("/")
    last = link.rsplit("/", 1)[-1] if "/rss/" in link else ""
    if last and _CATEGORY.match(last):
        return f"{DEFAULT_SOURCE}:{last}"
    return DEFAULT_SOURCE


def _item(item: ET.Element, index: int, ctx: ParseContext) -> PaperRecord | None:
    description = item.findtext("description") or ""
    announce = (item.findtext(f"{ARXIV_NS}announce_type") or "").strip()
    if not announce:
        m = _ANNOUNCE.search(description[:300])
        announce = m.group(1) if m else ""
    if announce and announce.lower() not in ctx.announce_types:
        return None

    arxiv_id = None
    guid = (item.findtext("guid") or "").strip()
    if guid:
        arxiv_id = parse_arxiv_id(guid.rsplit(":", 1)[-1])
    if arxiv_id is None:
        m = _DESCRIPTION_ID.match(description)
        arxiv_id = parse_arxiv_id(m.group(1)) if m else None
    if arxiv_id is None:
        arxiv_id = parse_arxiv_id(item.findtext("link") or "")
    if arxiv_id is None:
        fail(ctx.name, "expected an arXiv id (oai:arXiv.org:ID) in the guid, description or link",
             item=index, field="guid")

    title = collapse(item.findtext("title") or "")
    if not title:
        fail(ctx.name, "missing (expected the paper's title)", item=index, field="title")
    marker = description.find("Abstract:")
    abstract = collapse(description[marker + len("Abstract:"):] if marker >= 0 else
                        _ANNOUNCE.sub("", _DESCRIPTION_ID.sub("", description, count=1), count=1))

    authors = clean_authors(name for creator in item.findall(f"{DC_NS}creator")
                            for name in split_authors(creator.text or ""))
    categories: list[str] = []
    for category in item.findall("category"):
        term = collapse(category.text or "")
        if term and term not in categories:
            categories.append(term)

    links = arxiv_links(arxiv_id)
    doi = collapse(item.findtext(f"{ARXIV_NS}DOI") or "")
    if doi:
        links["doi"] = f"https://doi.org/{doi.split()[0]}"
    for kind, url in links_in_text(abstract).items():
        links.setdefault(kind, url)
    return PaperRecord(title=title, abstract=abstract, arxiv_id=arxiv_id, authors=authors, links=links,
                       categories=categories)
