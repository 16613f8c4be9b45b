"""Registering the slash commands with Discord, only when their definitions changed.

The definitions are `CommandSpec.payload()` for every command (bot.commands.COMMANDS): the exact
API JSON, checked against Discord's limits by the specs' own tests. Their hash is kept in the
database per application and scope, so a restart costs no request unless a command changed;
`paperboy sync-commands` forces it. Registration is global by default (Discord may take a while
to show changes everywhere), or to one development server when `[discord] dev_guild_id` is set.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import discord

from bot.commands import COMMANDS
from storage import app_state
from storage.db import Database

log = logging.getLogger(__name__)


class SyncError(Exception):
    """Discord refused the command definitions (the message says which field)."""


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    scope: str  # "global" or "guild 123"
    synced: bool  # False when the stored hash matched and nothing was sent
    commands: int
    digest: str


def definitions(*, guild: bool = False) -> list[dict[str, Any]]:
    """The API JSON of every command. Server commands have no `contexts` (global commands only)."""
    payloads = [spec.payload() for spec in COMMANDS]
    if guild:
        for p in payloads:
            p.pop("contexts", None)
    return payloads


def definitions_hash(payloads: list[dict[str, Any]]) -> str:
    text = json.dumps(payloads, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def state_key(application_id: int, guild_id: int) -> str:
    return f"discord.commands.{application_id}.{guild_id or 'global'}"


async def sync_commands(client: discord.Client, db: Database, *, guild_id: int = 0,
                        force: bool = False) -> SyncOutcome:
    """Register the commands for `client`'s application unless the stored hash says they are
    current (`force` sends them anyway). Needs a logged-in client (`application_id` known)."""
    app_id = client.application_id
    if app_id is None:
        raise SyncError("the application id is unknown: log in before syncing commands")
    payloads = definitions(guild=bool(guild_id))
    digest = definitions_hash(payloads)
    key = state_key(app_id, guild_id)
    scope = f"guild {guild_id}" if guild_id else "global"
    if not force and await app_state.get_value(db, key) == digest:
        log.info("slash commands (%s) unchanged; not re-registering", scope)
        return SyncOutcome(scope, False, len(payloads), digest)
    try:
        if guild_id:
            await client.http.bulk_upsert_guild_commands(app_id, guild_id, payloads)  # type: ignore[arg-type]
        else:
            await client.http.bulk_upsert_global_commands(app_id, payloads)  # type: ignore[arg-type]
    except discord.HTTPException as exc:
        raise SyncError(f"Discord refused the {scope} commands ({exc.status}, code {exc.code}): {exc.text}") from exc
    await app_state.set_value(db, key, digest)
    log.info("registered %d slash commands (%s)", len(payloads), scope)
    return SyncOutcome(scope, True, len(payloads), digest)
