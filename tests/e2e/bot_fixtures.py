"""Fixtures for the test_bot_* files: import them (noqa F401) and ask for `world` and `settings`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from testkit.discord_fake import DiscordFake
from tests.e2e.bot_harness import World, make_settings, make_world


@pytest.fixture(name="world")
async def world_fixture() -> AsyncIterator[World]:
    """A server on a fake with Discord's real 3 s deadline: the bot's own deferral (FAST timing)
    is what these tests exercise, and a loaded machine must not turn into missed deadlines."""
    async with DiscordFake() as fake:
        yield make_world(fake)


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
