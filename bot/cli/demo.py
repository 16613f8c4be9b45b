"""`paperboy demo`: the quick start's main job on the embedded default, no token needed."""

from __future__ import annotations

import argparse

from bot.cli.common import CliContext
from bot.ingest import IngestOptions, ingest
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from storage import digests as digest_repo
from storage import papers as paper_repo
from storage.loader import Loader


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="load the bundled sample digest and show what was stored")
    p.set_defaults(handler=run_demo)


async def run_demo(ctx: CliContext) -> int:
    db = await ctx.db()
    outcome = await ingest(Loader(db), str(SAMPLE_DIGEST), IngestOptions(date=SAMPLE_DATE))
    if not outcome.ok:
        print(f"paperboy: {outcome.error}")
        return 1
    for d in outcome.digests:
        state = "already stored" if d.unchanged else f"{d.new} new papers"
        print(f"Loaded the sample digest ({d.source}, {d.date}): {d.papers} papers, {state}.")
        info = await digest_repo.get_digest(db, d.digest_id)
        if info:
            for entry in (await digest_repo.digest_entries(db, info.id))[:5]:
                print(f"  {entry.position + 1:>3}. {entry.paper.title}")
            print(f"  ... and {info.papers - 5} more")
    st = await paper_repo.stats(db)
    print(f"Archive: {st.papers} papers in {st.digests} digests at {ctx.settings.db_path}")
    return 0
