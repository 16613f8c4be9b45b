"""PostgreSQL restarted under a running bot: a command that arrives while the server is down gets a
short "try again" reply (never a traceback), the bot reconnects by itself once the server is back,
sees a digest another process loads afterwards (title look-up included), and neither loses nor
repeats a notification. Its background loops log the outage as warnings, without tracebacks.

The server is this test's own (testkit/pg_server.py), halted and resumed on the same data and port
as an operator's `pg_ctl restart` would."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.app import App
from bot.chat.outbound import Sent
from bot.chat.replies import Reply
from bot.commands import dispatch
from bot.commands.errors import BRIEFLY_UNAVAILABLE
from bot.config import Settings, SubscriptionSettings
from bot.subscriptions.notify import notification_hook
from storage.backends import open_database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from testkit import pg_server
from tests.bot.subscriptions.helpers import Outbox

DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)  # news: notifications are for recent digests
WAIT = 30.0  # seconds something may take at most on a loaded machine: a bound, not a measure


@dataclass
class CountingOutbox(Outbox):
    """An Outbox that also records every direct message handed to it, repeats included (the
    Outbox delivers a repeated key once, as Discord's enforce_nonce does)."""

    attempts: list[tuple[str, str]] = field(default_factory=list)  # (user, key)

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        self.attempts.append((user_id, key or ""))
        return await super().send_direct(user_id, reply, key=key)


def digest(day: dt.date, *papers: tuple[str, str]) -> ParsedDigest:
    records = [PaperRecord(title, f"{title}. A study of diffusion models.", arxiv) for title, arxiv in papers]
    return ParsedDigest("hf-daily", day, "hf-api", records)


async def until(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + WAIT
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def load_elsewhere(url: str, parsed: ParsedDigest) -> None:
    """Load `parsed` as another process would: its own pool, its notifications marked for matching."""
    other = await open_database(url)
    try:
        await Loader(other, after_load=[notification_hook(SubscriptionSettings())]).load(parsed)
    finally:
        await other.close()


async def test_a_bot_answers_try_again_while_postgres_restarts_and_carries_on_after(
        own_pg_server: pg_server.Server, caplog: pytest.LogCaptureFixture) -> None:
    server = own_pg_server
    settings = Settings()
    settings.database.url = server.url
    settings.fetch.enabled = False
    outbox = CountingOutbox()
    app = await App.open(settings, outbox, platform="discord")
    try:
        await app.start(notify_interval=0.3)
        alice = app.context("discord:123456")
        subscribed = await dispatch("subscribe", {"topic": "diffusion"}, alice)
        assert "diffusion" in subscribed.text.lower()
        await load_elsewhere(server.url, digest(DAY, ("Latent Diffusion Before The Restart", "2601.00001")))
        await until(lambda: _sent(outbox, 1), "the first notification")

        server.halt()
        for command, options in (("search", {"query": "diffusion"}), ("subscribe", {"topic": "gaussian splatting"})):
            refused = await dispatch(command, options, alice)
            assert refused.private and refused.text == BRIEFLY_UNAVAILABLE, refused.text
        await asyncio.sleep(1.0)  # the background loops meet the outage too, and must survive it
        server.resume()

        found = await until(lambda: _answer(app, "search", {"query": "diffusion"}), "a search after the restart")
        assert found.cards and "Before The Restart" in (found.cards[0].description or "")
        # Polls by the clock would take an hour: the new title must come through the title-change
        # notifications, so the listener must have connected and listened again by itself.
        app.services.lookup.poll_every = 3600
        await load_elsewhere(server.url, digest(DAY + dt.timedelta(days=1),
                                                ("Consistency Diffusion After The Restart", "2601.00002")))
        hits = await until(lambda: _titles(app, "consistency diffusion after restart"), "the new title")
        assert hits[0].arxiv_id == "2601.00002"
        await until(lambda: _sent(outbox, 2), "the second notification")
        await asyncio.sleep(1.0)  # a few more notifier rounds: nothing is sent again
        # Alice, the only subscriber, got each notification once. A send whose "sent" mark was being
        # written when the server went down is sent again after it, under the same key, which
        # Discord (here the Outbox) answers with the first message, as after a SIGKILL.
        assert len(outbox.direct) == 2
        assert {key for _, key in outbox.attempts} == set(outbox.direct_keys)
        assert len(set(outbox.direct_keys)) == 2
    finally:
        await app.close()
    # A lost connection is expected, not a bug: Paperboy's own logs carry no traceback for it.
    assert [r.getMessage() for r in caplog.records if r.exc_info and r.name.startswith(("bot.", "storage."))] == []


async def _sent(outbox: CountingOutbox, n: int) -> bool:
    return len(outbox.attempts) >= n


async def _answer(app: App, command: str, options: dict[str, Any]) -> Reply | None:
    reply = await dispatch(command, options, app.context("discord:123456"))
    return None if reply.text == BRIEFLY_UNAVAILABLE else reply


async def _titles(app: App, query: str) -> list[Any]:
    return await app.services.lookup.lookup(query)  # type: ignore[no-any-return]
