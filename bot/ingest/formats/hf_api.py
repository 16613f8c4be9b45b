"""Hugging Face daily-papers JSON (docs/formats.md#hf-api): `GET /api/daily_papers`, or one `GET /api/papers/{id}`.

Each day the items were listed (`paper.submittedOnDailyAt`) is its own digest: a `?limit=` or
`?week=` response spans several days. Items without that day join the response's most common day,
else (no item has one) the items' most common `publishedAt`. --date files everything under one
day. An empty list is an empty day (weekends): it needs --date, as nothing in it says which day it is.
The digests are in date order, each in the response's order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from bot.ingest.formats._common import clean, fail, int_or_none, iso_date, json_type, read_text, str_list
from bot.ingest.formats.names import clean_authors
from storage.normalize import arxiv_links, identity_key, links_in_text, parse_arxiv_id
from storage.records import PaperRecord, ParsedDigest

if TYPE_CHECKING:
    import datetime as dt

    from bot.ingest.formats import ParseContext

FORMAT = "hf-api"
DEFAULT_SOURCE = "hf-daily"


def sniff(head: str) -> bool:
    text = head.lstrip()
    if text.startswith("["):
        rest = text[1:].lstrip()
        return rest.startswith("]") or (rest.startswith("{") and '"paper"' in text[:65536]) or (
            rest.startswith("{") and '"summary"' in text and '"upvotes"' in text)
    if text.startswith("{"):
        start = text[:4096]
        return '"paper"' in start or ('"summary"' in text and '"upvotes"' in text and '"abstract"' not in start)
    return False


def _load(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(name, f"invalid JSON at column {exc.colno}: {exc.msg}"
                   + (" (the file is cut off?)" if exc.pos >= len(text.rstrip()) else ""), line=exc.lineno)
    except (ValueError, RecursionError) as exc:
        fail(name, f"invalid JSON: {exc}")


def parse(stream: BinaryIO, ctx: ParseContext) -> Iterator[ParsedDigest]:
    data = _load(read_text(stream, ctx.name), ctx.name)
    if isinstance(data, dict):
        if "error" in data and "paper" not in data and "title" not in data:
            fail(ctx.name, f"the API answered an error: {clean(str(data['error']))[:200]}")
        items: list[Any] = [data]
    elif isinstance(data, list):
        items = data
    else:
        fail(ctx.name, f"expected a JSON list of daily-papers items, found {json_type(data)}")
    if ctx.max_items is not None and len(items) > ctx.max_items:
        fail(ctx.name, f"the page lists {len(items):,} papers, more than the {ctx.max_items:,} asked for; "
                       "nothing of it was loaded")

    found: list[tuple[PaperRecord, dt.date | None]] = []
    listed: list[dt.date] = []
    published: list[dt.date] = []
    seen: set[str] = set()
    for index, item in enumerate(items, 1):
        record, day, pub = _item(item, index, ctx.name)
        if day:
            listed.append(day)
        if pub:
            published.append(pub)
        key = record.arxiv_id or identity_key(record.title, record.authors, record.abstract)
        if key in seen:
            continue  # listed twice: keep the first position
        seen.add(key)
        found.append((record, day))

    fallback = ctx.date or _most_common(listed) or _most_common(published)
    if fallback is None:
        if not items:
            fail(ctx.name, "no papers and no date: an empty list needs --date")
        fail(ctx.name, "no date: the items have neither submittedOnDailyAt nor publishedAt; give --date")
    days: dict[dt.date, list[PaperRecord]] = {}
    for record, day in found:
        days.setdefault(ctx.date or day or fallback, []).append(record)
    for date in sorted(days) or [fallback]:
        yield ParsedDigest(source=ctx.source or DEFAULT_SOURCE, date=date, format=FORMAT,
                           papers=days.get(date, []), grows=True)


def _most_common(days: list[dt.date]) -> dt.date | None:
    if not days:
        return None
    counts = Counter(days)
    return max(counts, key=lambda d: (counts[d], d))


def _text(obj: dict[str, Any], key: str, index: int, name: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            fail(name, "missing (expected the paper's title)" if key == "title" else "missing", item=index,
                 field=key)
        return None
    if not isinstance(value, str):
        fail(name, f"expected a string, found {json_type(value)}", item=index, field=key)
    return value


def _item(item: Any, index: int, name: str) -> tuple[PaperRecord, dt.date | None, dt.date | None]:
    """One item: its record, the day it was listed and its publication date."""
    if not isinstance(item, dict):
        fail(name, f"expected an object, found {json_type(item)}", item=index)
    paper = item.get("paper")
    if paper is None and ("id" in item or "authors" in item):
        paper = item  # a bare paper object (GET /api/papers/{id})
    if not isinstance(paper, dict):
        fail(name, f"expected an object, found {json_type(paper)}", item=index, field="paper")

    raw_title = _text(paper, "title", index, name, required=False) or _text(item, "title", index, name,
                                                                              required=True)
    title = clean(raw_title or "")
    if not title:
        fail(name, "empty (expected the paper's title)", item=index, field="title")
    abstract = clean(_text(paper, "summary", index, name, required=False)
                          or _text(item, "summary", index, name, required=False) or "")

    raw_id = paper.get("id")
    arxiv_id = parse_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    links: dict[str, str] = {}
    if arxiv_id:
        links.update(arxiv_links(arxiv_id))
    github = paper.get("githubRepo")
    if isinstance(github, str) and github.startswith(("http://", "https://")):
        links["github"] = github
    project = paper.get("projectPage")
    if isinstance(project, str) and project.startswith(("http://", "https://")):
        links["project"] = project
    for kind, url in links_in_text(abstract).items():
        links.setdefault(kind, url)

    raw_authors = paper.get("authors")
    names = [a.get("name") if isinstance(a, dict) else a for a in raw_authors] if isinstance(raw_authors, list) else []
    authors = clean_authors(n for n in names if isinstance(n, str))

    summary = paper.get("ai_summary")
    record = PaperRecord(
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        authors=authors,
        links=links,
        keywords=str_list(paper.get("ai_keywords")),
        ai_summary=clean(summary) if isinstance(summary, str) and summary.strip() else None,
        published=iso_date(paper.get("publishedAt")) or iso_date(item.get("publishedAt")),
        upvotes=int_or_none(paper.get("upvotes")),
        comments=int_or_none(item.get("numComments")),
    )
    listed = iso_date(paper.get("submittedOnDailyAt"))
    return record, listed, iso_date(item.get("publishedAt")) or record.published
