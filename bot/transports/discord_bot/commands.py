"""Answering interactions: slash commands, autocomplete and button clicks, through bot.commands.

The commands are registered from their specs (see sync.py), so interactions are handled here
from their raw data rather than through discord.py's CommandTree: the qualified name and option
values go to `dispatch`, the focused option to `suggest`, a button's custom id to `press`.

Discord wants a first answer within 3 seconds. A command whose spec says it may be slow is
deferred at once; any other is deferred if it has not answered after `defer_after` seconds.
Autocomplete cannot be deferred: suggestions slower than `suggest_budget` answer with nothing.

Admin commands are registered with default_member_permissions = Manage Server, and the caller's
Manage Server permission (from the interaction) is passed on as `Context.is_admin`, which the
dispatcher checks again: server owners can grant a command to anyone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.chat.replies import Attachment, Reply
from bot.commands import dispatch, find, press, suggest
from bot.commands.context import Context
from bot.commands.errors import UsageError, error_reply
from bot.commands.specs import CommandSpec, OptionType
from bot.processes.tuning import SWITCH_INTERVAL
from bot.transports.discord_bot.outbound import PREFIX
from bot.transports.discord_bot.render import Rendered, render

log = logging.getLogger(__name__)

SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2

ContextFactory = Callable[..., Context]


@dataclass(frozen=True, slots=True)
class Timing:
    # Seconds before an unfinished command is deferred ("thinking…"; Discord's deadline is 3 s).
    # Short, so the acknowledgement stays quick when many commands queue on the one database
    # connection; a command that finishes sooner answers in one request.
    defer_after: float = 0.15
    suggest_budget: float = 2.0  # seconds autocomplete may take before answering with nothing
    # GIL switch interval while the client runs (CPython's default is 5 ms; why: bot/processes/tuning.py):
    # also keeps a deferral that fires on time from reaching Discord late.
    switch_interval: float = SWITCH_INTERVAL


def flatten(data: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """("setup channel", the leaf's options) from an application command's `data`."""
    parts = [str(data.get("name", ""))]
    options: list[dict[str, Any]] = list(data.get("options") or [])
    while len(options) == 1 and options[0].get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP):
        parts.append(str(options[0].get("name", "")))
        options = list(options[0].get("options") or [])
    return " ".join(parts), options


def option_value(option: Mapping[str, Any]) -> Any:
    """A Discord option value as bot.commands.options expects it (attachments are resolved later)."""
    kind, value = option.get("type"), option.get("value")
    if kind == OptionType.CHANNEL:
        return f"{PREFIX}{value}"
    if kind in (OptionType.ROLE, OptionType.ATTACHMENT):
        return str(value)
    return value


def data_of(interaction: discord.Interaction) -> dict[str, Any]:
    """The interaction's raw `data` (discord.py types it as a union of TypedDicts)."""
    return dict(interaction.data or {})


def is_admin(interaction: discord.Interaction) -> bool:
    return interaction.guild_id is not None and interaction.permissions.manage_guild


class InteractionRouter:
    def __init__(self, context: ContextFactory, *, max_download_bytes: int, timing: Timing = Timing()) -> None:
        self._context = context
        self.max_download_bytes = max_download_bytes
        self.timing = timing

    def context(self, interaction: discord.Interaction) -> Context:
        return self._context(
            f"{PREFIX}{interaction.user.id}",
            guild_id=f"{PREFIX}{interaction.guild_id}" if interaction.guild_id else None,
            channel_id=f"{PREFIX}{interaction.channel_id}" if interaction.channel_id else None,
            is_admin=is_admin(interaction), transport="discord", user_name=interaction.user.display_name)

    async def handle(self, interaction: discord.Interaction) -> None:
        kind = interaction.type
        try:
            if kind is discord.InteractionType.application_command:
                await self.command(interaction)
            elif kind is discord.InteractionType.autocomplete:
                await self.autocomplete(interaction)
            elif kind is discord.InteractionType.component:
                await self.component(interaction)
        except discord.HTTPException as exc:  # e.g. answered after the deadline: nothing more to do
            log.warning("answering a %s interaction failed: %s %s", kind.name, exc.status, exc.text)

    # -- slash commands ------------------------------------------------------------------------

    async def command(self, interaction: discord.Interaction) -> None:
        name, options = flatten(data_of(interaction))
        try:
            top: CommandSpec | None = find(name)[1]
        except UsageError:
            top = None  # dispatch answers with the error
        ctx = self.context(interaction)
        work = asyncio.create_task(self._run(interaction, name, options, ctx))
        private_defer = top is None or top.private
        deferred = await self._maybe_defer(work, top is not None and top.may_be_slow,
                                           lambda: interaction.response.defer(ephemeral=private_defer, thinking=True))
        reply = await work
        if not deferred:
            await interaction.response.send_message(**render(reply).kwargs(), ephemeral=reply.private)
        elif reply.private and not private_defer:
            # Deferred publicly, answered privately (an error): drop the public "thinking…".
            await interaction.delete_original_response()
            await interaction.followup.send(**render(reply).kwargs(), ephemeral=True)
        else:
            await interaction.followup.send(**render(reply).kwargs(), ephemeral=reply.private)

    async def _maybe_defer(self, work: asyncio.Task[Reply], at_once: bool,
                           defer: Callable[[], Awaitable[Any]]) -> bool:
        if not at_once:
            done, _ = await asyncio.wait({work}, timeout=self.timing.defer_after)
            if done:
                return False
        try:
            await defer()
        except discord.HTTPException:
            work.cancel()
            raise
        return True

    async def _run(self, interaction: discord.Interaction, name: str, options: list[dict[str, Any]],
                   ctx: Context) -> Reply:
        try:
            values = {str(o.get("name")): option_value(o) for o in options}
            for o in options:
                if o.get("type") == OptionType.ATTACHMENT:
                    values[str(o.get("name"))] = await self._download(interaction, str(o.get("value")))
        except Exception as exc:  # noqa: BLE001 - the edge: a user never sees a traceback
            return error_reply(exc, name.split(" ")[0])
        return await dispatch(name, values, ctx)

    async def _download(self, interaction: discord.Interaction, attachment_id: str) -> Attachment:
        resolved = (data_of(interaction).get("resolved") or {}).get("attachments") or {}
        payload = resolved.get(attachment_id)
        if payload is None:
            raise UsageError("the attached file did not arrive; please attach it again")
        size = int(payload.get("size") or 0)
        if size > self.max_download_bytes:
            raise UsageError(f"the file is {size:,} bytes; the limit is {self.max_download_bytes:,}")
        file = discord.Attachment(data=payload, state=interaction._state)
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            raise UsageError(f"could not download the attached file (Discord {exc.status})") from exc
        if len(data) > self.max_download_bytes:
            raise UsageError(f"the file is over the limit of {self.max_download_bytes:,} bytes")
        return Attachment(file.filename, data)

    # -- autocomplete --------------------------------------------------------------------------

    async def autocomplete(self, interaction: discord.Interaction) -> None:
        name, options = flatten(data_of(interaction))
        focused = next((o for o in options if o.get("focused")), None)
        choices = []
        if focused is not None:
            try:
                choices = await asyncio.wait_for(
                    suggest(name, str(focused.get("name")), str(focused.get("value") or ""),
                            self.context(interaction)), timeout=self.timing.suggest_budget)
            except TimeoutError:
                log.warning("suggestions for /%s %s took over %.1fs; answered none", name, focused.get("name"),
                            self.timing.suggest_budget)
        await interaction.response.autocomplete([app_commands.Choice(name=c.name, value=c.value) for c in choices])

    # -- buttons -------------------------------------------------------------------------------

    async def component(self, interaction: discord.Interaction) -> None:
        action = str(data_of(interaction).get("custom_id", ""))
        work = asyncio.create_task(press(action, self.context(interaction)))
        deferred = await self._maybe_defer(work, False, interaction.response.defer)
        reply = await work
        rendered = render(reply)
        message = interaction.message
        own_is_private = message is not None and message.flags.ephemeral
        if reply.private and not own_is_private:
            # A refusal for this user only; the shared message stays as it is.
            await self._send_private(interaction, rendered, deferred)
        elif deferred:
            await interaction.edit_original_response(**rendered.edit_kwargs())
        else:
            await interaction.response.edit_message(**rendered.edit_kwargs())

    @staticmethod
    async def _send_private(interaction: discord.Interaction, rendered: Rendered, deferred: bool) -> None:
        if deferred:
            await interaction.followup.send(**rendered.kwargs(), ephemeral=True)
        else:
            await interaction.response.send_message(**rendered.kwargs(), ephemeral=True)
