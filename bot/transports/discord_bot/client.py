"""The Discord client: logs in, registers the commands, answers interactions, runs the jobs.

    client = PaperboyClient(settings)
    app = await App.open(settings, client.outbound, platform="discord")
    client.attach(app)
    await client.start(token)          # setup_hook: sync commands, then app.start()

Intents are minimal: `guilds` only (no members, no message content, no presences); everything
the bot answers arrives as an interaction, and posts go out by REST. Mentions parse nothing by
default (the client-wide `allowed_mentions`), and discord.py handles reconnects and per-route
rate limits; the shared TokenBucket of bot.app spreads large fan-outs under the global limit.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.app import App
from bot.commands.context import Context
from bot.config import DiscordSettings, Settings
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


class PaperboyClient(discord.Client):
    def __init__(self, settings: Settings, *, sync: bool = True, force_sync: bool = False,
                 start_jobs: bool = True, timing: Timing = Timing(), guild_ready_timeout: float = 2.0) -> None:
        super().__init__(intents=minimal_intents(), allowed_mentions=NO_MENTIONS, max_messages=None,
                         guild_ready_timeout=guild_ready_timeout)
        self.settings = settings
        self.outbound = DiscordOutbound(self)
        self.router = InteractionRouter(self._context, max_download_bytes=settings.ingest.max_download_bytes,
                                        timing=timing)
        self.sync = sync
        self.force_sync = force_sync
        self.start_jobs = start_jobs
        self.timing = timing
        self._app: App | None = None
        self._switch_interval: float | None = None  # the process's own, while ours is in force

    def attach(self, app: App) -> None:
        """The opened application (built with this client's `outbound`); needed before `start`."""
        self._app = app

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
        self._tune_process()
        if self.sync:
            try:
                await sync_commands(self, app.db, guild_id=self.settings.discord.dev_guild_id, force=self.force_sync)
            except SyncError as exc:  # the previously registered commands keep working
                log.error("%s", exc)
        if self.start_jobs:
            await app.start()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._restore_process()

    def _tune_process(self) -> None:
        """Process-wide settings for quick answers while the client runs (undone by `close`)."""
        if self._switch_interval is not None:
            return
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(self.timing.switch_interval)
        # Everything alive now (modules, the app, the title index) lives as long as the bot: kept
        # out of the collector's full passes, which would otherwise stop the event loop to walk it.
        gc.freeze()

    def _restore_process(self) -> None:
        if self._switch_interval is None:
            return
        sys.setswitchinterval(self._switch_interval)
        self._switch_interval = None
        gc.unfreeze()  # collectable again once the app is gone

    async def on_ready(self) -> None:
        user = self.user
        log.info("connected to Discord as %s (%s) in %d servers", user, user.id if user else "?", len(self.guilds))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.router.handle(interaction)
