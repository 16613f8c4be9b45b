"""The Discord client: logs in, registers the commands, answers interactions, runs the jobs.

    client = PaperboyClient(settings)
    app = await App.open(settings, client.outbound, platform="discord", shards=settings.shards)
    client.attach(app)
    await client.start(token)          # setup_hook: sync commands, then app.start()

Intents are minimal: `guilds` only (no members, no message content, no presences); everything
the bot answers arrives as an interaction, and posts go out by REST. Mentions parse nothing by
default (the client-wide `allowed_mentions`), and discord.py handles reconnects and per-route
rate limits; the shared TokenBucket of bot.app spreads large fan-outs under the global limit.

The client is discord.py's AutoShardedClient: it connects the shards `settings.shards` names
(`[discord] shard_ids` of `shard_count`, or `paperboy run --shards 0-2 --shard-count 9`), one
gateway connection each, or, by default, every shard Discord recommends in this one process.
Servers on other shards are another process's: their events never reach this one, and the app
posts only for servers on these shards (bot.chat.shards).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route
from discord.utils import MISSING

from bot.app import App
from bot.commands.context import Context
from bot.config import DiscordSettings, Settings
from bot.processes.tuning import ProcessTuning
from bot.transports.discord_bot.budget import charge_requests
from bot.transports.discord_bot.commands import InteractionRouter, Timing
from bot.transports.discord_bot.outbound import DiscordOutbound
from bot.transports.discord_bot.render import NO_MENTIONS
from bot.transports.discord_bot.sync import SyncError, sync_commands

log = logging.getLogger(__name__)


# The bot has no voice features: skip discord.py's warnings about missing voice libraries.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def minimal_intents() -> discord.Intents:
    return discord.Intents(guilds=True)


def configure_endpoints(settings: DiscordSettings) -> Callable[[], None]:
    """Point discord.py at the configured REST base and gateway (a rate-limiting proxy, a test
    fake) when they differ from Discord's; returns a function that restores the previous ones.
    Both are class attributes in discord.py, so this is process-wide."""
    defaults = DiscordSettings()
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if settings.api_base.rstrip("/") != defaults.api_base.rstrip("/"):
        Route.BASE = settings.api_base.rstrip("/")
    if settings.gateway_url != defaults.gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)

    def restore() -> None:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway

    return restore


class PaperboyClient(discord.AutoShardedClient):
    def __init__(self, settings: Settings, *, sync: bool = True, force_sync: bool = False,
                 start_jobs: bool = True, timing: Timing = Timing(), guild_ready_timeout: float = 2.0) -> None:
        shards = settings.shards
        # Unset (None) ids: every shard of the count; an unset count: Discord's recommendation.
        which: dict[str, Any] = {} if shards.ids is None else {"shard_ids": sorted(shards.ids)}
        super().__init__(intents=minimal_intents(), allowed_mentions=NO_MENTIONS, max_messages=None,
                         guild_ready_timeout=guild_ready_timeout, shard_count=shards.count, **which)
        self.settings = settings
        self.shard_set = shards
        self.outbound = DiscordOutbound(self)
        self.router = InteractionRouter(self._context, max_download_bytes=settings.ingest.max_download_bytes,
                                        timing=timing)
        self.sync = sync
        self.force_sync = force_sync
        self.start_jobs = start_jobs
        self.timing = timing
        self._app: App | None = None
        self._tuning = ProcessTuning(timing.switch_interval)  # applied while the client runs
        self._launching: asyncio.Task[Any] | None = None  # connecting the shards (see launch_shards)
        self._uncharge: Callable[[], None] | None = None  # stops charging the app's rate limit

    def attach(self, app: App) -> None:
        """The opened application (built with this client's `outbound`); needed before `start`.
        From here on every request the client makes draws from the app's share of the global rate
        limit (budget.py), logging in included."""
        self._app = app
        if app.limiter is not None and self._uncharge is None:
            self._uncharge = charge_requests(self.http, app.limiter)

    @property
    def app(self) -> App:
        if self._app is None:
            raise RuntimeError("PaperboyClient.attach(app) was not called")
        return self._app

    def _context(self, user_id: str, **kwargs: object) -> Context:
        return self.app.context(user_id, **kwargs)  # type: ignore[arg-type]

    async def setup_hook(self) -> None:
        """After login, before the gateway: register the commands if they changed, start the jobs."""
        app = self.app
        self._tuning.apply()
        if self.shard_count is None:
            await self._recommended_shards()
        if self.sync:
            await self._register_commands(app)
        if self.start_jobs:
            await app.start()

    async def _recommended_shards(self) -> None:
        """Every shard in this process, as many as Discord recommends. Asked here rather than by
        discord.py's launch, which would then connect to the gateway address Discord returns
        instead of `[discord] gateway_url`."""
        count, _url, _limits = await self.http.get_bot_gateway()
        self.shard_count = max(1, int(count))
        log.info("running all %d shards Discord recommends in this process", self.shard_count)

    async def _register_commands(self, app: App) -> None:
        """Register the slash commands if they changed, from one process only: the one holding
        shard 0 (every process when not sharded: there is one). The commands belong to the
        application, not to a shard, so one registration serves every process; several processes
        starting together would all find the stored hash stale and all send the same definitions
        (and, after a switch of scope, race to remove the old ones)."""
        if not self.shard_set.registers_commands:
            log.info("slash commands are registered by the process running shard 0, not this one (%s)",
                     self.shard_set)
            return
        try:
            await sync_commands(self, app.db, guild_id=self.settings.discord.dev_guild_id, force=self.force_sync)
        except SyncError as exc:  # the previously registered commands keep working
            log.error("%s", exc)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Discord accepts one IDENTIFY per 5 seconds: this process's shards connect one after
        another, `[discord] identify_interval_seconds` apart (discord.py's own wait is 5 s)."""
        if not initial:
            await asyncio.sleep(self.settings.discord.identify_interval_seconds)

    async def launch_shards(self) -> None:
        # Kept to be cancelled by `close`: discord.py retries a shard that failed to connect every
        # 5 s, forever, so a stop while shards are still connecting would otherwise hang.
        self._launching = asyncio.current_task()
        try:
            await super().launch_shards()
        finally:
            self._launching = None

    async def close(self) -> None:
        try:
            launching, self._launching = self._launching, None
            if launching is not None and launching is not asyncio.current_task():
                launching.cancel()
            if self.loop is MISSING:  # never started: AutoShardedClient.close expects a started client
                await self.http.close()
            else:
                await super().close()
        finally:
            self._tuning.restore()

    async def on_ready(self) -> None:
        user = self.user
        log.info("connected to Discord as %s (%s) in %d servers (%s)", user, user.id if user else "?",
                 len(self.guilds), self._shards_shown())

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("shard %d of %s ready", shard_id, self.shard_count)

    def _shards_shown(self) -> str:
        if self.shard_set.every:
            return f"all {self.shard_count} shards" if self.shard_count != 1 else "one shard"
        return str(self.shard_set)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.router.handle(interaction)
