"""Running the bot as a process (`paperboy run`) and registering commands (`paperboy sync-commands`).

`serve` opens the app on the Discord client's outbound, connects (the client's set-up starts the
app's background jobs: daily posts, notifications, fetching), and runs until `stop` is set; then
it closes the client and the app (background jobs and fetching stopped; a post or notification that was mid-send stays
recorded as such for start-up recovery; the database closed). The token is only ever passed to
discord.py, never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.app import App
from bot.config import Settings
from bot.transports.discord_bot.client import PaperboyClient, configure_endpoints
from bot.transports.discord_bot.sync import SyncOutcome, http_error, sync_commands
from storage.db import Database

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0


class BotStopped(Exception):
    """The bot could not start or lost its connection for good; the message is one line for the user."""


class TokenRejected(BotStopped):
    pass


async def serve(settings: Settings, token: str, stop: asyncio.Event, *, force_sync: bool = False,
                guild_ready_timeout: float = 2.0) -> None:
    """Run until `stop` is set (returns) or the connection fails for good (raises BotStopped)."""
    restore = configure_endpoints(settings.discord)
    client = PaperboyClient(settings, force_sync=force_sync, guild_ready_timeout=guild_ready_timeout)
    try:
        app = await App.open(settings, client.outbound, platform="discord", shards=client.shard_set)
        client.attach(app)
        try:
            if settings.web.enabled:
                await _start_web(app)
            await _until_stopped(client, token, stop)
        finally:
            await client.close()
            await app.close()
            log.info("stopped; database closed")
    finally:
        restore()


async def _start_web(app: App) -> None:
    """The web archive, before connecting: a port already taken stops the start with one line."""
    from bot.web.server import WebServerError

    try:
        url = await app.start_web()
    except WebServerError as exc:
        raise BotStopped(f"{exc} ([web] host and port)") from None
    log.info("web archive at %s", url)


async def _until_stopped(client: PaperboyClient, token: str, stop: asyncio.Event) -> None:
    running = asyncio.create_task(client.start(token), name="discord")
    stopping = asyncio.create_task(stop.wait(), name="stop")
    done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if running in done:
        stopping.cancel()
        exc = running.exception()
        if isinstance(exc, discord.LoginFailure):
            raise TokenRejected("Discord rejected the token (401 Unauthorized); check or reset it")
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            raise BotStopped("Discord refused the gateway intents (the bot asks for no privileged ones)")
        if isinstance(exc, discord.HTTPException):
            raise BotStopped(f"the Discord connection failed: {http_error(exc)}") from exc
        if isinstance(exc, discord.DiscordException | OSError):
            raise BotStopped(f"the Discord connection failed: {exc.__class__.__name__}: {exc}") from exc
        if exc is not None:
            raise exc
        raise BotStopped("the Discord connection closed unexpectedly")
    log.info("stopping")
    await client.close()
    with contextlib.suppress(asyncio.CancelledError, discord.DiscordException, TimeoutError):
        await asyncio.wait_for(running, timeout=CLOSE_TIMEOUT)


async def register_commands(settings: Settings, db: Database, token: str, *, guild_id: int) -> SyncOutcome:
    """Log in over REST only and register every command now (to `guild_id`, or globally when 0)."""
    restore = configure_endpoints(settings.discord)
    client = discord.Client(intents=discord.Intents.none())
    try:
        try:
            await client.login(token)
        except discord.LoginFailure:
            raise TokenRejected("Discord rejected the token (401 Unauthorized); check or reset it") from None
        return await sync_commands(client, db, guild_id=guild_id, force=True)
    finally:
        await client.close()
        restore()
