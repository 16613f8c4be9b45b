"""Test doubles for the daily post: a recording Outbound that honours idempotency keys and can be
told to fail or to "crash" after sending, and helpers to store digests at a given instant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.chat.outbound import SendError, Sent
from bot.chat.replies import Reply
from storage import digests as digest_repo
from storage.db import Database
from storage.records import DigestInfo
from tests.storage.raw import insert_digest


class Crash(BaseException):
    """The process dying between a send and the log write (not an Exception: nothing catches it)."""


@dataclass
class Message:
    channel_id: str
    reply: Reply
    key: str | None
    message_id: str


@dataclass
class FakeOutbound:
    """Records what was posted. A repeated key returns the first message (Discord's enforce_nonce)."""

    messages: list[Message] = field(default_factory=list)
    threads: dict[str, str] = field(default_factory=dict)  # thread id -> parent message id
    fail_next: list[BaseException] = field(default_factory=list)  # raised before sending, in order
    crash_after_send: bool = False
    honour_keys: bool = True

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        if self.fail_next:
            raise self.fail_next.pop(0)
        if self.honour_keys and key is not None:
            for m in self.messages:
                if m.key == key:
                    return Sent(m.channel_id, m.message_id)
        message = Message(channel_id, reply, key, f"m{len(self.messages) + 1}")
        self.messages.append(message)
        if self.crash_after_send:
            self.crash_after_send = False
            raise Crash()
        return Sent(channel_id, message.message_id)

    async def start_thread(self, message: Sent, name: str) -> str:
        if self.fail_next:
            raise self.fail_next.pop(0)
        thread_id = f"t{len(self.threads) + 1}"
        self.threads[thread_id] = message.message_id
        return thread_id

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        raise SendError("not used by the daily post")

    def in_channel(self, channel_id: str) -> list[Message]:
        return [m for m in self.messages if m.channel_id == channel_id]


async def render_pages(digest: DigestInfo) -> list[Reply]:
    """A stand-in for the summary: one post and two pages of the full list."""
    return [Reply(text=f"{digest.source} {digest.date}: {digest.papers} papers"),
            Reply(text="page 1"), Reply(text="page 2")]


async def store_digest(db: Database, day: dt.date, at: dt.datetime, *, source: str = "hf-daily",
                       papers: int = 3) -> DigestInfo:
    """Store a digest dated `day` as if it arrived at instant `at` (its row only: the daily post
    reads no paper of it, and the row is written the same way on either backend)."""
    info = await digest_repo.get_digest(db, await insert_digest(db, source, day, papers=papers, at=at,
                                                                format="hf-page"))
    assert info is not None
    return info


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)  # type: ignore[misc]
