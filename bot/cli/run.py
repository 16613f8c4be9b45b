"""`paperboy run` (the Discord bot with everything it does) and `paperboy sync-commands`.

`run` starts the Discord transport, the daily-post scheduler, topic notifications and, when
`[fetch] enabled` has sources, digest fetching; SIGINT/SIGTERM stop it cleanly (exit 0). The
token comes from DISCORD_TOKEN, the file DISCORD_TOKEN_FILE names, or the systemd credential
discord_token (bot.config.discord_token), and is never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from bot.cli.common import CliContext, CliError, positive_int
from bot.config import (
    TOKEN_CREDENTIAL,
    TOKEN_FILE_VARIABLE,
    TOKEN_VARIABLE,
    ConfigError,
    discord_token,
    readable_by_others,
)

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run",
                       description=f"Connect to Discord with the bot token in ${TOKEN_VARIABLE} and run until "
                                   "SIGINT/SIGTERM: slash commands, the daily posts, topic notifications, and "
                                   "digest fetching when [fetch] enables sources.")
    p.add_argument("--sync-commands", action="store_true",
                   help="register the slash commands even if their definitions did not change")
    p.add_argument("--shards", metavar="IDS",
                   help="the Discord shards this process runs, e.g. 0-3 or 0,1,5 (default: every shard; "
                        "[discord] shard_ids); needs --shard-count")
    p.add_argument("--shard-count", type=positive_int, metavar="N",
                   help="shards over all processes, the same in each (default: Discord's recommendation, "
                        "one process; [discord] shard_count)")
    p.set_defaults(handler=run_bot)
    p = sub.add_parser("sync-commands",
                       description="Register every slash command (globally, or with [discord] dev_guild_id to "
                                   f"that server only), whether or not they changed. Needs ${TOKEN_VARIABLE}.")
    p.add_argument("--guild", type=int, metavar="ID", help="register to this server only (overrides dev_guild_id)")
    p.set_defaults(handler=run_sync)


def token_from_env() -> str:
    try:
        secret = discord_token()
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    if secret is None:
        raise CliError(f"{TOKEN_VARIABLE} is not set (nor {TOKEN_FILE_VARIABLE}, nor the systemd credential "
                       f"{TOKEN_CREDENTIAL}): give the bot token from the Discord developer portal")
    if secret.origin.kind == "file" and readable_by_others(secret.origin.where):
        log.warning("%s %s can be read by every user on this machine; chmod 600 it", TOKEN_FILE_VARIABLE,
                    secret.origin.where)
    return secret.value


async def run_bot(ctx: CliContext) -> int:
    # Imported here: discord.py is heavy, and only these two commands need it.
    from bot.transports.discord_bot.serve import BotStopped, serve

    token = token_from_env()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(ctx.settings, token, stop, force_sync=ctx.args.sync_commands)
    except BotStopped as exc:
        raise CliError(f"{exc} ({TOKEN_VARIABLE})" if "token" in str(exc) else str(exc), status=1) from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0


async def run_sync(ctx: CliContext) -> int:
    # Imported here: discord.py is heavy, and only these two commands need it.
    from bot.transports.discord_bot.serve import BotStopped, register_commands
    from bot.transports.discord_bot.sync import SyncError

    token = token_from_env()
    guild = ctx.args.guild if ctx.args.guild is not None else ctx.settings.discord.dev_guild_id
    try:
        outcome = await register_commands(ctx.settings, await ctx.db(), token, guild_id=guild)
    except (BotStopped, SyncError) as exc:
        raise CliError(str(exc), status=1) from None
    print(f"Registered {outcome.commands} slash commands ({outcome.scope}).")
    if outcome.removed:
        print(f"Removed the ones registered before ({', '.join(outcome.removed)}).")
    return 0
