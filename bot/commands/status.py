"""/status (server admins): the archive's last digest, this server's daily post, the digest
sources' health, what is waiting to be sent and what failed (gathered by bot.status.report)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.chat import limits
from bot.chat.replies import Card, Field, Reply
from bot.commands.context import Context
from bot.commands.specs import CommandSpec
from bot.status.report import gather, sections, when


async def run_status(ctx: Context, options: Mapping[str, Any]) -> Reply:
    report = await gather(ctx.services.db, ctx.services.settings, now=ctx.now(), guild_id=ctx.guild_id)
    fields = [Field(name, limits.safe(text, limits.FIELD_VALUE)) for name, text in sections(report)]
    return Reply(cards=[Card(title="Paperboy status", fields=fields, footer=f"as of {when(report.now)}")],
                 private=True)


SPECS = (
    CommandSpec("status", "Last digest, daily post, sources, pending deliveries and errors (server admins)",
                handler=run_status, admin_only=True, private=True),
)
