"""/status (server admins): the archive's last digest, this server's daily post, what is waiting
to be sent and what failed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot import limits
from bot.commands.context import Context
from bot.commands.setup import describe
from bot.commands.specs import CommandSpec
from bot.replies import Card, Field, Reply
from storage import deliveries as delivery_repo
from storage import digests as digest_repo
from storage import guilds as guild_repo
from storage import papers as paper_repo
from storage import posts as post_repo

MAX_ERRORS = 3


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


async def run_status(ctx: Context, options: Mapping[str, Any]) -> Reply:
    db = ctx.services.db
    stats = await paper_repo.stats(db)
    latest = await digest_repo.find_digest(db)
    fields = [Field("Archive", f"{_count(stats.papers, 'paper')} in {_count(stats.digests, 'digest')}")]
    if latest is not None:
        fields.append(Field("Last digest", limits.safe(
            f"{latest.source} · {latest.date.isoformat()} · {latest.papers} papers, fetched {_when(latest.fetched_at)}",
            limits.FIELD_VALUE)))
    else:
        fields.append(Field("Last digest", "none yet: load one with /ingest"))
    if ctx.guild_id is not None:
        schedule = await guild_repo.get_schedule(db, ctx.guild_id)
        text = describe(schedule) if schedule else "not set up (/setup channel)"
        recent = await post_repo.list_posts(db, guild_id=ctx.guild_id, limit=1)
        if recent:
            last = recent[0]
            text += f"\nLast: {last.post_date.isoformat()} {last.status}"
            if last.reason:
                text += f" ({last.reason})"
        fields.append(Field("This server's daily post", limits.safe(text, limits.FIELD_VALUE)))
    pending = await post_repo.posts_in_status(db, ["pending", "sending"])
    waiting = await delivery_repo.deliveries_in_status(db, ["pending", "sending"])
    fields.append(Field("Waiting to be sent", f"{_count(len(pending), 'daily post')}, "
                                              f"{_count(len(waiting), 'topic notification')}"))
    broken = await post_repo.posts_in_status(db, ["failed", "unknown"])
    undelivered = await delivery_repo.deliveries_in_status(db, ["failed", "unknown"])
    lines = [f"post {p.post_date.isoformat()} {p.guild_id}: {p.status}, {p.reason or p.error or 'no reason given'}"
             for p in broken[-MAX_ERRORS:]]
    lines += [f"notification #{d.id} to {d.user_id}: {d.status}, {d.reason or d.error or 'no reason given'}"
              for d in undelivered[-MAX_ERRORS:]]
    if len(broken) + len(undelivered) > len(lines):
        lines.insert(0, f"{_count(len(broken), 'post')} and {_count(len(undelivered), 'notification')} need "
                        "attention (`paperboy posts`, `paperboy deliveries`); the latest:")
    fields.append(Field("Errors", limits.safe("\n".join(lines), limits.FIELD_VALUE) if lines else "none"))
    return Reply(cards=[Card(title="Paperboy status", fields=fields, footer=f"as of {_when(ctx.now())}")],
                 private=True)


SPECS = (
    CommandSpec("status", "Last digest, daily post, pending deliveries and errors (server admins)",
                handler=run_status, admin_only=True, private=True),
)
