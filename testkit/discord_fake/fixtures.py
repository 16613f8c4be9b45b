"""Pytest fixtures and a runner for a real discord.py client against the fake.

In a conftest: ``from testkit.discord_fake.fixtures import discord_fake  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
import pytest

from .models import MANAGE_GUILD, FakeChannel, FakeGuild, FakeUser
from .patching import point_discord_py_at
from .server import DiscordFake

TEST_TIMEOUT = 10.0


def bounded(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Fail a test that runs longer than TEST_TIMEOUT (pytest-timeout is not installed)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> None:
        await asyncio.wait_for(fn(*args, **kwargs), timeout=TEST_TIMEOUT)

    return wrapper


@dataclass
class World:
    """A server with a channel, an admin (Manage Server) and a plain member."""

    fake: DiscordFake
    guild: FakeGuild
    channel: FakeChannel
    admin: FakeUser
    member: FakeUser


def make_world(fake: DiscordFake, name: str = "Paper Club") -> World:
    guild = fake.add_guild(name)
    channel = fake.add_text_channel(guild, "papers")
    admin = fake.add_member(guild, "alice", permissions=MANAGE_GUILD)
    member = fake.add_member(guild, "bob")
    return World(fake, guild, channel, admin, member)


def minimal_intents() -> discord.Intents:
    """``Intents.default()`` minus members/message_content: no privileged intents, no chunking."""
    intents = discord.Intents.default()
    intents.members = False
    intents.message_content = False
    intents.presences = False
    return intents


def skip_reidentify_delay(client: discord.Client) -> None:
    """discord.py sleeps 5 s in ``before_identify_hook`` before every non-initial IDENTIFY
    (after an invalid session); tests that provoke one can skip that wait."""

    async def no_delay(shard_id: int | None, *, initial: bool = False) -> None:
        return None

    client.before_identify_hook = no_delay  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def running_client(
    fake: DiscordFake, client: discord.Client, *, token: str | None = None, ready_timeout: float = 5.0
) -> AsyncIterator[discord.Client]:
    """Start ``client`` against ``fake``, wait for ``on_ready``, and close it cleanly afterwards.

    Build the client with ``guild_ready_timeout=0.05`` and :func:`minimal_intents` so READY is quick.
    Raises whatever ``client.start`` raised if it dies before becoming ready (e.g. LoginFailure).
    """
    with point_discord_py_at(fake):
        task = asyncio.create_task(client.start(token or fake.token), name="discord-client")
        try:
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait({task, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready
                if task in done:
                    task.result()  # re-raises the start failure (LoginFailure, ConnectionClosed, ...)
                    raise RuntimeError("discord client stopped before it was ready")
                raise TimeoutError(f"discord client not ready after {ready_timeout}s")
            yield client
        finally:
            await client.close()
            finished, _ = await asyncio.wait({task}, timeout=5.0)
            if not finished:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            elif not task.cancelled():
                task.exception()  # mark retrieved; re-raised below only on a clean exit
        failure = task.exception() if task.done() and not task.cancelled() else None
        if failure is not None:
            raise failure


@pytest.fixture
async def discord_fake() -> AsyncIterator[DiscordFake]:
    """A started fake with a short interaction deadline (0.1 × 3 s = 0.3 s)."""
    async with DiscordFake(deadline_scale=0.1) as fake:
        yield fake
