"""The outbound side of a transport: how the assistant sends posts and private messages.

Transports (Discord, the console, test fakes) implement `Outbound`. The assistant records every
send in a log with an idempotency key *before* sending and marks it sent or failed after, so a
restart neither repeats nor skips one; see storage's post log and notification log.

Identifiers are strings prefixed by platform ("discord:1234", "console:alice") so one database
can serve several transports and the console has users of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.chat.replies import Reply


class SendError(Exception):
    """A send that did not happen. `permanent` errors are not retried."""

    permanent = False


class RecipientUnreachable(SendError):
    """The user cannot receive direct messages (Discord 403, code 50007), or the channel is gone."""

    permanent = True


class TemporaryFailure(SendError):
    """Rate limited, server error, network down: try again later."""


@dataclass(slots=True, frozen=True)
class Sent:
    """Where a message landed (message id and channel, transport-specific strings)."""

    channel_id: str
    message_id: str


class Outbound(Protocol):
    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        """Post to a server channel (or thread).

        `key` (at most 25 characters) is an idempotency token: a transport that can should send it
        so that a repeated post with the same key returns the first message instead of a duplicate
        (Discord: `nonce` with `enforce_nonce`, honoured for a few minutes).
        """
        ...

    async def start_thread(self, message: Sent, name: str) -> str:
        """Open a thread under a posted message; returns the thread's channel id."""
        ...

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        """Send a private message; raises RecipientUnreachable when the user's DMs are closed.

        `key` is an idempotency token as for `post` (Discord honours a nonce in direct messages too).
        """
        ...
