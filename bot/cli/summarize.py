"""`paperboy summarize`: fill the model's summaries of a digest now, or show what is cached
(`--dry-run`): the day's paragraph and each highlight's TL;DR, with where each came from."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import EXIT_NOT_FOUND, CliContext, CliError, add_json_flag, date_arg, print_json

_SHOWN = {"cached": "cached", "source": "the source's own summary", "written": "written now",
          "rejected": "dropped by the checks", "failed": "no answer", "over budget": "not asked: over budget",
          "would ask": "not cached: would ask"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "summarize",
        description="Write the model's summaries of a digest now (the day's paragraph, each highlight's TL;DR) "
                    "and show them; answers cached before are not asked again. Needs [llm] enabled = true, "
                    "except with --dry-run. Exit status 1 when a text could not be had.")
    p.add_argument("--date", type=date_arg, help="the digest of this day (YYYY-MM-DD; default: the latest)")
    p.add_argument("--source", help="the digest from this source (default: the largest that day)")
    p.add_argument("--dry-run", action="store_true",
                   help="ask nothing: show what is cached and what would be asked")
    p.add_argument("--retry", action="store_true",
                   help="ask again for the texts whose answers the checks dropped")
    add_json_flag(p)
    p.set_defaults(handler=run_summarize)


async def run_summarize(ctx: CliContext) -> int:
    from bot.config import llm_api_key
    from bot.llm.service import LlmService
    from storage import digests as digest_repo

    args = ctx.args
    if not ctx.settings.llm.enabled and not args.dry_run:
        raise CliError("model summaries are off: set [llm] enabled = true (see docs/llm.md), "
                       "or look at the cache with --dry-run")
    db = await ctx.db()
    digest = await digest_repo.find_digest(db, date=args.date, source=args.source)
    if digest is None:
        what = " ".join(x for x in (args.source and f"from {args.source}",
                                     args.date and f"for {args.date.isoformat()}") if x)
        raise CliError(f"no digest with papers {what or 'stored yet'}: list them with `paperboy digests`",
                       status=EXIT_NOT_FOUND)
    key = llm_api_key()
    llm = LlmService.from_settings(db, ctx.settings, api_key=key.value if key else None, background=False)
    try:
        run = await llm.summarize_digest(digest, dry_run=args.dry_run, retry_rejected=args.retry)
    finally:
        await llm.close()
    rows: list[dict[str, Any]] = [{"digest_id": digest.id, "source": digest.source, "date": digest.date,
                                   "model": llm.model, "kind": o.kind, "subject_id": o.subject_id, "label": o.label,
                                   "status": o.status, "text": o.text, "problem": o.problem} for o in run.outcomes]
    if args.json:
        print_json(rows)
    else:
        print(f"{digest.source} {digest.date.isoformat()} ({digest.papers} papers), model {llm.model}"
              + (" (dry run: nothing asked)" if args.dry_run else ""))
        number = 0
        for o in run.outcomes:
            if o.kind == "overview":
                head = "Today in papers"
            else:
                number += 1
                head = f"TL;DR {number}. {o.label}"
            print(f"  {head}: {_SHOWN.get(o.status, o.status)}" + (f" ({o.problem})" if o.problem else ""))
            if o.text:
                print(f"    {o.text}")
    return 1 if run.trouble else 0
