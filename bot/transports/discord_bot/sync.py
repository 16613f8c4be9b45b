"""Registering the slash commands with Discord, only when their definitions changed.

The definitions are `CommandSpec.payload()` for every command (bot.commands.COMMANDS): the exact
API JSON, checked against Discord's limits by the specs' own tests. Their hash is kept in the
database per application and scope, so a restart costs no request unless a command changed;
`paperboy sync-commands` forces it. Registration is global by default (Discord may take a while
to show changes everywhere), or to one development server when `[discord] dev_guild_id` is set.

The commands live in one scope at a time: after registering, the commands this database recorded
in any other scope (global before a switch to a development server, or that server after a switch
back) are removed, so nobody sees each command twice or old definitions that no longer answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

import discord

from bot.commands import COMMANDS
from bot.redact import redact
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
    removed: tuple[str, ...] = ()  # other scopes whose commands were removed ("global", "guild 123")


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
    return f"{_state_prefix(application_id)}{guild_id or 'global'}"


def _state_prefix(application_id: int) -> str:
    return f"discord.commands.{application_id}."


def _scope_name(guild_id: int) -> str:
    return f"guild {guild_id}" if guild_id else "global"


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
    scope = _scope_name(guild_id)
    others = [k for k in await app_state.keys_with_prefix(db, _state_prefix(app_id)) if k != key]
    synced = force or await app_state.get_value(db, key) != digest
    if synced:
        await _put(client, app_id, guild_id, payloads)
        await app_state.set_value(db, key, digest)
        log.info("registered %d slash commands (%s)", len(payloads), scope)
    else:
        log.info("slash commands (%s) unchanged; not re-registering", scope)
    # Removed only once the new scope has them: a refusal above leaves the old ones working.
    removed: list[str] = []
    for other in others:
        name = await _remove_scope(client, db, app_id, other)
        if name is not None:
            removed.append(name)
    return SyncOutcome(scope, synced, len(payloads), digest, tuple(removed))


def http_error(exc: discord.HTTPException) -> str:
    """A failed Discord request in one line: the status, and Discord's own error code and message
    when the body was Discord's JSON. A body that is not (a proxy's page, a server echoing the
    request, headers and token included) is never shown, and nothing shown can hold the token."""
    reason = getattr(exc.response, "reason", "") or ""
    text = f"HTTP {exc.status} {reason}".rstrip()
    if exc.code:  # set only when Discord answered with its JSON error object
        text += f", code {exc.code}: {exc.text[:300]}"
    return redact(text)


async def _put(client: discord.Client, app_id: int, guild_id: int, payloads: list[dict[str, Any]]) -> None:
    """Bulk-overwrite the scope's commands with `payloads` (an empty list removes them all)."""
    try:
        if guild_id:
            await client.http.bulk_upsert_guild_commands(app_id, guild_id, payloads)  # type: ignore[arg-type]
        else:
            await client.http.bulk_upsert_global_commands(app_id, payloads)  # type: ignore[arg-type]
    except discord.HTTPException as exc:
        raise SyncError(f"Discord refused the {_scope_name(guild_id)} commands: {http_error(exc)}") from exc


async def _remove_scope(client: discord.Client, db: Database, app_id: int, key: str) -> str | None:
    """Remove the commands registered in the scope `key` records; its name, or None when that
    failed (tried again at the next sync: the record is kept)."""
    suffix = key.rpartition(".")[2]
    if suffix != "global" and not suffix.isdigit():
        return None  # not a scope this module wrote
    guild_id = 0 if suffix == "global" else int(suffix)
    scope = _scope_name(guild_id)
    try:
        await _put(client, app_id, guild_id, [])
        log.info("removed the slash commands registered before (%s)", scope)
    except SyncError as exc:
        if not isinstance(exc.__cause__, discord.Forbidden | discord.NotFound):
            log.warning("the slash commands registered before (%s) stay for now: %s", scope, exc)
            return None
        # The bot is no longer in that server, or the server is gone: nothing left to remove.
        log.info("forgetting the slash commands registered before (%s): %s", scope, exc)
    await app_state.delete_value(db, key)
    return scope
