"""The Discord side of `bot.chat.outbound.Outbound`: channel posts, threads and direct messages.

Errors are translated for the senders (daily posts, notifications), which decide about retries:
403 and 404 (closed direct messages are 403 with code 50007, a deleted channel 404) become
`RecipientUnreachable`; 429 that discord.py gave up on, 5xx and network failures become
`TemporaryFailure`; any other refusal (a 400 for a malformed message) is `Rejected`, not retried.
A channel post sends its idempotency key as the message nonce with `enforce_nonce`, so a retry
after a lost response returns the first message instead of posting twice.
Each method runs under the token its caller took from the shared rate limit (`prepaid`): a
request beyond that one (opening a DM channel) is charged to it (budget.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import aiohttp
import discord

from bot.chat.outbound import RecipientUnreachable, SendError, Sent, TemporaryFailure
from bot.chat.replies import Reply
from bot.transports.discord_bot.budget import prepaid
from bot.transports.discord_bot.render import render

log = logging.getLogger(__name__)

PREFIX = "discord:"
NONCE_LIMIT = 25  # Discord's longest nonce
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day without messages


class Rejected(SendError):
    """Discord refused the request itself (e.g. 400: the message does not fit); retrying won't help."""

    permanent = True


def snowflake(prefixed: str, what: str = "id") -> int:
    """123 from "discord:123"; RecipientUnreachable for another platform's or a malformed id."""
    platform, _, raw = prefixed.partition(":")
    if platform + ":" != PREFIX or not raw.isdigit():
        raise RecipientUnreachable(f"{prefixed!r} is not a Discord {what}")
    return int(raw)


def translate(exc: BaseException, doing: str) -> SendError:
    """The send error for a failed Discord request."""
    if isinstance(exc, discord.Forbidden | discord.NotFound):
        return RecipientUnreachable(f"{doing}: Discord {exc.status} (code {exc.code}): {exc.text or 'refused'}")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429 or exc.status >= 500:
            return TemporaryFailure(f"{doing}: Discord {exc.status}: {exc.text or 'try again later'}")
        return Rejected(f"{doing}: Discord {exc.status} (code {exc.code}): {exc.text}")
    return TemporaryFailure(f"{doing}: {exc.__class__.__name__}: {exc}")


_FAILURES = (discord.HTTPException, aiohttp.ClientError, asyncio.TimeoutError, OSError)


class DiscordOutbound:
    """Sends through a logged-in `discord.Client` (REST only: works before the gateway is ready)."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        channel = self.client.get_partial_messageable(snowflake(channel_id, "channel"))
        kwargs: dict[str, Any] = render(reply).kwargs()
        if key:
            kwargs["nonce"] = key[:NONCE_LIMIT]  # discord.py adds enforce_nonce
        try:
            with prepaid():
                message = await channel.send(**kwargs)
        except _FAILURES as exc:
            raise translate(exc, f"posting to {channel_id}") from exc
        return Sent(channel_id, f"{PREFIX}{message.id}")

    async def start_thread(self, message: Sent, name: str) -> str:
        channel = snowflake(message.channel_id, "channel")
        try:
            with prepaid():
                data = await self.client.http.start_thread_with_message(
                    channel, snowflake(message.message_id, "message"), name=name or "Papers",
                    auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except _FAILURES as exc:
            raise translate(exc, f"opening a thread in {message.channel_id}") from exc
        return f"{PREFIX}{data['id']}"

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        user = discord.Object(snowflake(user_id, "user"))
        kwargs: dict[str, Any] = render(reply).kwargs()
        if key:
            kwargs["nonce"] = key[:NONCE_LIMIT]  # a DM channel dedupes a nonce like any channel
        try:
            with prepaid():  # the message; opening the DM channel (when not known yet) is charged
                dm = await self.client.create_dm(user)  # type: ignore[arg-type]  # any Snowflake will do
                message = await dm.send(**kwargs)
        except _FAILURES as exc:
            raise translate(exc, f"a direct message to {user_id}") from exc
        return Sent(f"{PREFIX}{dm.id}", f"{PREFIX}{message.id}")
