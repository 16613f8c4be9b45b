"""The Discord transport (discord.py 2.7): the only part of Paperboy that imports `discord`.

* client.py   — `PaperboyClient` (an AutoShardedClient on `settings.shards`: login, command sync
                from the process holding shard 0, interactions, background jobs) and
                `configure_endpoints` for `[discord] api_base` / `gateway_url`
* budget.py   — every REST request drawn from the process's share of the global rate limit
* commands.py — interactions → bot.commands dispatch / suggest / press, deferral, permissions
* render.py   — Reply → content, embeds, buttons, files; safe `allowed_mentions`
* outbound.py — `DiscordOutbound`, the `bot.chat.outbound.Outbound` for daily posts and notifications
* sync.py     — registering the commands when their definitions' hash changed

Named `discord_bot`, not `discord`: a package called `discord` shadows the library for tools that
put its parent folder on the import path.
"""

from bot.transports.discord_bot.client import PaperboyClient, configure_endpoints, minimal_intents
from bot.transports.discord_bot.commands import InteractionRouter, Timing
from bot.transports.discord_bot.outbound import DiscordOutbound, Rejected
from bot.transports.discord_bot.render import render
from bot.transports.discord_bot.sync import SyncError, SyncOutcome, definitions, sync_commands

__all__ = ["DiscordOutbound", "InteractionRouter", "PaperboyClient", "Rejected", "SyncError", "SyncOutcome", "Timing",
           "configure_endpoints", "definitions", "minimal_intents", "render", "sync_commands"]
