"""The Discord transport (discord.py 2.7): the only part of Paperboy that imports `discord`.

* client.py   — `PaperboyClient` (login, command sync, interactions, background jobs) and
                `configure_endpoints` for `[discord] api_base` / `gateway_url`
* commands.py — interactions → bot.commands dispatch / suggest / press, deferral, permissions
* render.py   — Reply → content, embeds, buttons, files; safe `allowed_mentions`
* outbound.py — `DiscordOutbound`, the `bot.delivery.Outbound` for daily posts and notifications
* sync.py     — registering the commands when their definitions' hash changed
"""

from bot.transports.discord.client import PaperboyClient, configure_endpoints, minimal_intents
from bot.transports.discord.commands import InteractionRouter, Timing
from bot.transports.discord.outbound import DiscordOutbound, Rejected
from bot.transports.discord.render import render
from bot.transports.discord.sync import SyncError, SyncOutcome, definitions, sync_commands

__all__ = ["DiscordOutbound", "InteractionRouter", "PaperboyClient", "Rejected", "SyncError", "SyncOutcome", "Timing",
           "configure_endpoints", "definitions", "minimal_intents", "render", "sync_commands"]
