"""Fixtures for the test_bot_* files: import them (noqa F401) and ask for `world` and `settings`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.discord_fake import DiscordFake
from tests.e2e.bot_harness import World, make_settings, make_world


@pytest.fixture(name="world")
def world_fixture(discord_fake: DiscordFake) -> World:
    return make_world(discord_fake)


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)
