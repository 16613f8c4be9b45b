"""`paperboy ingest`, `digests`, `export`, `stats`: filling the archive and looking at it."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from dataclasses import dataclass, replace
from typing import Any, TextIO

from bot.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    CliContext,
    CliError,
    add_json_flag,
    date_arg,
    positive_int,
    print_json,
)
from bot.cli.progress import LoadProgress
from bot.community import CommunityService, export
from bot.ingest.formats import format_names
from bot.ingest.load import DigestSummary, IngestOptions, IngestOutcome, ingest
from bot.lookup import sync as title_sync
from bot.lookup.service import LookupService
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from bot.search.service import SearchFilters, search
from bot.summary.render import EMPTY_DAY
from storage import digests as digest_repo
from storage import papers as paper_repo
from storage.db import Database
from storage.records import ARCHIVE_FORMATS, StoredPaper
from storage.search.fts import MAX_LIMIT

# Above this many digests in one input (a snapshot), text output summarises instead of listing.
_LIST_LIMIT = 20
# `export --query`: papers written by default, and at most (searches page 100 at a time).
_QUERY_LIMIT = 1000
_QUERY_MAX = 10_000


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ingest",
                       description="Load digests (format detected from content) into the archive.")
    p.add_argument("inputs", nargs="*", metavar="PATH_OR_URL",
                   help="a digest file, an http(s) URL, or - for standard input; several are loaded in turn")
    p.add_argument("--sample", action="store_true",
                   help="also load the bundled sample digest (Hugging Face Daily Papers, Sep 9)")
    p.add_argument("--date", type=date_arg, help="the digest's date (YYYY-MM-DD), for sources without one")
    p.add_argument("--format", choices=format_names(), help="skip detection and use this format")
    p.add_argument("--source", help="file the digest under this source name")
    p.add_argument("--prune", action="store_true",
                   help="let a smaller capture of a day that only grows (Hugging Face) remove the papers it "
                        "lacks (a deliberate correction; without it they are kept)")
    add_json_flag(p)
    p.set_defaults(handler=run_ingest)

    p = sub.add_parser("digests")
    p.add_argument("--source", help="only this source")
    p.add_argument("--limit", type=int, default=None, help="at most this many, newest first")
    p.add_argument("--all", action="store_true",
                   help="also list the days of archive imports (the arXiv snapshot), marked 'archive'")
    add_json_flag(p)
    p.set_defaults(handler=run_digests)

    p = sub.add_parser("export", description="Write papers to standard output: every paper listed in the date "
                                             "range, or with --query the papers a search finds (best first).")
    p.add_argument("--since", type=date_arg, help="papers listed on or after this date")
    p.add_argument("--until", type=date_arg, help="papers listed on or before this date")
    p.add_argument("--format", choices=("jsonl", *(f for f in export.FORMATS if f != "jsonl")), default="jsonl",
                   help="jsonl: Paperboy export objects, which `paperboy ingest` reads back (default); "
                        "bibtex: @misc entries (arXiv eprints); csv: one row per paper")
    p.add_argument("--query", metavar="QUERY", help="only the papers this search finds (as `paperboy search`)")
    p.add_argument("--limit", type=positive_int, default=_QUERY_LIMIT,
                   help=f"with --query: at most this many papers (default {_QUERY_LIMIT:,}, "
                        f"at most {_QUERY_MAX:,})")
    p.set_defaults(handler=run_export)

    p = sub.add_parser("stats")
    add_json_flag(p)
    p.set_defaults(handler=run_stats)


def _digest_json(outcome: IngestOutcome, d: DigestSummary) -> dict[str, Any]:
    return {"file": outcome.input, "format": outcome.format, "source": d.source, "date": d.date.isoformat(),
            "papers": d.papers, "new": d.new, "merged": d.merged, "updated": d.updated,
            "unchanged": d.unchanged, "kept": d.kept, "removed": d.removed}


def _digest_line(outcome: IngestOutcome, d: DigestSummary) -> str:
    if d.unchanged:
        what = "unchanged (already stored)"
    else:
        what = f"{d.new} new"
        if d.merged:
            what += f", {d.merged} merged"
        if d.updated:
            what += f", {d.updated} updated"
        if d.removed:
            what += f", {d.removed} removed"
    if d.kept:
        what += f", {d.kept} kept that this capture lacks (--prune removes them)"
    count = EMPTY_DAY if not d.papers else f"{d.papers} papers"
    return f"{outcome.input}: {outcome.format} {d.source} {d.date.isoformat()}: {count}, {what}"


def _summary_line(outcome: IngestOutcome) -> str:
    ds = outcome.digests
    first, last = min(d.date for d in ds), max(d.date for d in ds)
    what = "archive import" if outcome.format in ARCHIVE_FORMATS else "digests"
    return (f"{outcome.input}: {outcome.format}: {what}, {len(ds)} days from {first} to {last}: "
            f"{sum(d.papers for d in ds)} papers, {sum(d.new for d in ds)} new, "
            f"{sum(d.merged for d in ds)} merged, {sum(d.updated for d in ds)} updated")


def _print_notes(outcome: IngestOutcome, out: TextIO) -> None:
    """What the load cut, clamped or skipped (bot.ingest.formats.bounds), one line each."""
    for note in outcome.notes:
        print(f"  note: {note}", file=out)


@dataclass(slots=True)
class Committed:
    """Counts the papers of each committed batch of one input (and moves its progress bar)."""

    bar: LoadProgress | None
    papers: int = 0

    def __call__(self, papers: int) -> None:
        self.papers += papers
        if self.bar is not None:
            self.bar.loaded(papers)


async def run_ingest(ctx: CliContext) -> int:
    args = ctx.args
    s = ctx.settings.ingest
    options = IngestOptions(date=args.date, source=args.source, format=args.format,
                            announce_types=frozenset(s.announce_types), chunk_size=s.chunk_size,
                            max_download_bytes=s.max_download_bytes, prune=args.prune)
    targets = list(args.inputs)
    if args.sample:
        targets.append(str(SAMPLE_DIGEST))
    if not targets:
        raise CliError("name at least one file or URL to ingest (or --sample)")
    loader = await ctx.loader()
    failed = 0
    indexed = 0  # papers added or retitled: past SNAPSHOT_AFTER, the title look-up's snapshot is brought up to date
    for target in targets:
        bar = None if args.json else LoadProgress(target)
        sample = target == str(SAMPLE_DIGEST) and args.sample
        committed = Committed(bar)
        try:
            # The bundled sample is dated by its release, whatever else is loaded with it.
            outcome = await ingest(loader, target, replace(options, date=options.date or SAMPLE_DATE,
                                                           today=SAMPLE_DATE) if sample else options,
                                   progress=bar, on_loaded=committed, on_phase=bar.phase if bar else None)
        except asyncio.CancelledError:
            # Ctrl-C: the chunk being written was rolled back and the bulk load restored what it
            # had dropped (ingest's clean-up, on the way here); say what stays, and stop.
            raise CliError(f"{target}: interrupted: {committed.papers:,} papers committed, re-run to finish",
                           status=EXIT_INTERRUPTED) from None
        finally:
            if bar:
                bar.finish()
        indexed += sum(d.new + d.updated for d in outcome.digests)
        if not outcome.ok:
            failed += 1
            if args.json:
                print_json({"file": target, "format": outcome.format, "error": outcome.error,
                            "committed_digests": len(outcome.digests), "notes": outcome.notes})
            else:
                print(f"paperboy: {outcome.error}", file=sys.stderr)
                _print_notes(outcome, sys.stderr)
            continue
        if args.json:
            for d in outcome.digests:
                print_json(_digest_json(outcome, d))
            if outcome.notes:
                print_json({"file": target, "notes": outcome.notes, "skipped": outcome.skipped})
            failed += 1 if outcome.skipped else 0
            continue
        if outcome.skipped:
            failed += 1
            print(f"paperboy: {target}: {outcome.skipped:,} bad lines skipped (noted below); the rest is stored",
                  file=sys.stderr)
        if len(outcome.digests) > _LIST_LIMIT:
            print(_summary_line(outcome))
        elif not outcome.digests:
            print(f"{target}: {outcome.format}: no papers")
        else:
            for d in outcome.digests:
                print(_digest_line(outcome, d))
        _print_notes(outcome, sys.stdout)
    if indexed >= title_sync.SNAPSHOT_AFTER:
        await _update_title_snapshot(ctx, quiet=args.json)
    return 1 if failed else 0


async def _update_title_snapshot(ctx: CliContext, *, quiet: bool) -> None:
    """After a large load, save the title index the next look-up starts from, so the first
    `paperboy paper` (or the bot's start) replays a little instead of building it from every title."""
    if not quiet and sys.stderr.isatty():
        print("updating the title look-up index...", file=sys.stderr)
    await title_sync.TitleIndexSync(await ctx.db()).start(save=True)


async def run_digests(ctx: CliContext) -> int:
    db = await ctx.db()
    found = await digest_repo.list_digests(db, source=ctx.args.source, limit=ctx.args.limit,
                                           archive_imports=ctx.args.all)
    if ctx.args.json:
        print_json([{"source": d.source, "date": d.date.isoformat(), "kind": d.kind, "format": d.format,
                     "papers": d.papers,
                     "fetched_at": d.fetched_at.isoformat(), "updated_at": d.updated_at.isoformat()}
                    for d in found])
        return 0
    hidden = 0 if ctx.args.all else await digest_repo.count_archive_days(db, source=ctx.args.source)
    if not found and not hidden:
        print("no digests stored yet: load one with `paperboy ingest FILE`")
    for d in found:
        count = f"{d.papers:>6} papers" if d.papers else f"{EMPTY_DAY:>13}"
        kind = ", archive import" if d.kind == "archive" else ""
        print(f"{d.date.isoformat()}  {d.source:<24} {count}  ({d.format}{kind})")
    if hidden:
        print(f"(and {hidden:,} days of archive imports, such as the arXiv snapshot: --all lists them)")
    return 0


async def run_export(ctx: CliContext) -> int:
    args, out = ctx.args, sys.stdout
    db = await ctx.db()
    if args.query is not None:
        return await _export_query(ctx, db)
    if args.format == "jsonl":
        async for row in paper_repo.export_rows(db, args.since, args.until):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return 0
    writer = export.Writer(args.format)
    out.write(writer.header())
    batch: list[export.ExportItem] = []
    async for row in paper_repo.export_rows(db, args.since, args.until):
        batch.append(_export_item(row))
        if len(batch) == 2000:
            out.write(writer.chunk(batch))
            batch.clear()
    out.write(writer.chunk(batch))
    return 0


def _export_item(row: dict[str, Any]) -> export.ExportItem:
    """An export object (storage.papers.export_object, which carries no database id) as an item."""
    published = row.get("published")
    days = [str(listing["date"]) for listing in row.get("listings") or []]
    paper = StoredPaper(0, str(row["title"]), str(row["abstract"]), row.get("arxiv_id"), list(row["authors"]),
                        dict(row["links"]), list(row["categories"]), list(row["keywords"]), row.get("ai_summary"),
                        dt.date.fromisoformat(str(published)) if published else None)
    return export.ExportItem(paper, dt.date.fromisoformat(min(days)) if days else None, known_id=False)


async def _export_query(ctx: CliContext, db: Database) -> int:
    """The papers a search finds, best first, in the asked format."""
    args, out = ctx.args, sys.stdout
    if args.limit > _QUERY_MAX:
        raise CliError(f"--limit must be at most {_QUERY_MAX:,}, got {args.limit:,}")
    filters = SearchFilters(since=args.since, until=args.until)
    ids: list[int] = []
    cursor = None
    while len(ids) < args.limit:
        result = await search(db, args.query, filters, limit=min(MAX_LIMIT, args.limit - len(ids)), cursor=cursor)
        ids += [hit.paper_id for hit in result.hits]
        cursor = result.next_cursor
        if cursor is None or not result.hits:
            break
    if args.format == "jsonl":
        for paper in await paper_repo.get_papers(db, ids):
            listed: list[dict[str, object]] = [
                {"source": x.source, "date": x.date.isoformat(), "format": x.format, "position": x.position,
                 "upvotes": x.upvotes, "comments": x.comments} for x in await paper_repo.listings(db, paper.id)]
            out.write(json.dumps(paper_repo.export_object(paper, listed), ensure_ascii=False) + "\n")
    else:
        items = await CommunityService(db, LookupService(db)).items(ids)
        out.write(export.render(items, args.format))
    return 0 if ids else EXIT_NOT_FOUND


async def run_stats(ctx: CliContext) -> int:
    st = await paper_repo.stats(await ctx.db())
    data = {"papers": st.papers, "digests": st.digests, "listings": st.listings,
            "with_arxiv_id": st.with_arxiv_id,
            "first_date": st.first_date.isoformat() if st.first_date else None,
            "last_date": st.last_date.isoformat() if st.last_date else None,
            "database_bytes": st.database_bytes, "database": ctx.settings.db_shown}
    if ctx.args.json:
        print_json(data)
        return 0
    print(f"database:  {ctx.settings.db_shown} ({st.database_bytes / 1e6:,.1f} MB)")
    print(f"papers:    {st.papers:,} ({st.with_arxiv_id:,} with an arXiv id)")
    print(f"digests:   {st.digests:,} ({st.listings:,} listings)"
          + (f", {st.first_date} to {st.last_date}" if st.first_date else ""))
    return 0
