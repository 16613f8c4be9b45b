"""/help (every command, or one in detail) and /about (version, sources, counts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot import __version__
from bot.chat import limits
from bot.chat.replies import Card, Choice, Field, Reply
from bot.commands.context import Context
from bot.commands.errors import NotFound
from bot.commands.specs import CommandSpec, OptionSpec, OptionType
from storage import digests as digest_repo
from storage import papers as paper_repo

Catalogue = Callable[[], Sequence[CommandSpec]]  # every command, in /help order (the registry's list)


def usage(qualified: str, spec: CommandSpec) -> str:
    """"/setup channel channel time timezone [thread] [role]"."""
    words = [f"/{qualified}"] + [o.name if o.required else f"[{o.name}]" for o in spec.options]
    return " ".join(words)


def suggest_command(commands: Sequence[CommandSpec], partial: str) -> list[Choice]:
    typed = partial.strip().lstrip("/").casefold()
    return [Choice(f"/{c.name}", c.name) for c in commands if c.name.startswith(typed)][:25]


def help_reply(ctx: Context, commands: Sequence[CommandSpec], options: Mapping[str, Any]) -> Reply:
    wanted = str(options.get("command", "")).lstrip("/").split(" ")[0].casefold()
    if wanted:
        spec = next((c for c in commands if c.name == wanted), None)
        if spec is None:
            raise NotFound(f"There is no /{wanted}; /help lists the commands.")
        fields = []
        for name, leaf in spec.leaves():
            lines = [leaf.description] + [f"• {o.name}{'' if o.required else ' (optional)'}: {o.description}"
                                          for o in leaf.options]
            fields.append(Field(limits.safe(usage(name, leaf), limits.FIELD_NAME), limits.safe("\n".join(lines),
                                                                                               limits.FIELD_VALUE)))
        note = "Server admins only. " if spec.admin_only else ""
        return Reply(cards=[Card(title=f"/{spec.name}", description=note + spec.description, fields=fields[:25])],
                     private=True)
    lines = []
    for spec in (c for c in commands if ctx.is_admin or not c.admin_only):
        for name, leaf in spec.leaves():
            lines.append(f"`{usage(name, leaf)}` — {leaf.description}")
    footer = "Details: /help command:NAME."
    if not ctx.is_admin:
        footer += " Server admins also have /setup, /ingest, /status."
    return Reply(cards=[Card(title="Paperboy commands", description=limits.truncate("\n".join(lines), 4000),
                             footer=footer)], private=True)


async def run_about(ctx: Context, options: Mapping[str, Any]) -> Reply:
    db = ctx.services.db
    stats = await paper_repo.stats(db)
    sources: Counter[str] = Counter()
    for digest in await digest_repo.list_digests(db):
        sources[digest.source] += 1
    listed = ", ".join(f"{name} ({n} digest{'s' if n != 1 else ''})" for name, n in sources.most_common(10))
    span = (f"{stats.first_date.isoformat()} to {stats.last_date.isoformat()}"
            if stats.first_date and stats.last_date else "nothing loaded yet")
    fields = [Field("Archive", f"{stats.papers:,} papers, {stats.digests:,} digests, {span}"),
              Field("Sources", limits.safe(listed, limits.FIELD_VALUE) or "none yet")]
    description = ("Research-paper digests for chat communities: a daily summary post, keyword search, "
                   "fuzzy title look-up and personal topic alerts.")
    return Reply(cards=[Card(title=f"Paperboy {__version__}", description=description, fields=fields)])


def specs(catalogue: Catalogue) -> tuple[CommandSpec, ...]:
    """/help and /about. The registry passes its own list, which holds these two (so no import back)."""

    async def suggest(ctx: Context, partial: str) -> list[Choice]:
        return suggest_command(catalogue(), partial)

    async def run_help(ctx: Context, options: Mapping[str, Any]) -> Reply:
        return help_reply(ctx, catalogue(), options)

    return (
        CommandSpec("help", "What Paperboy can do, or one command in detail", options=(
            OptionSpec("command", OptionType.STRING, "A command to explain, e.g. search", suggest=suggest,
                       max_length=40),), handler=run_help, private=True),
        CommandSpec("about", "Paperboy's version, digest sources and archive size", handler=run_about),
    )
