"""The key/value store of the bot's own state, the same on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from storage import app_state
from storage.db import Database

pytestmark = pytest.mark.both_backends


async def test_values_are_stored_replaced_and_forgotten(db: Database) -> None:
    assert await app_state.get_value(db, "discord.commands.1.global") is None
    await app_state.set_value(db, "discord.commands.1.global", "abc")
    await app_state.set_value(db, "discord.commands.1.global", "def", now=dt.datetime(2025, 9, 9, tzinfo=dt.UTC))
    assert await app_state.get_value(db, "discord.commands.1.global") == "def"
    assert await app_state.delete_value(db, "discord.commands.1.global") is True
    assert await app_state.delete_value(db, "discord.commands.1.global") is False
    assert await app_state.get_value(db, "discord.commands.1.global") is None


async def test_prefixes_are_compared_as_text_not_patterns(db: Database) -> None:
    for key in ("a_b.1", "a%b.2", "axb.3", "a_b", "B"):
        await app_state.set_value(db, key, "v")
    assert await app_state.keys_with_prefix(db, "a_b") == ["a_b", "a_b.1"]
    assert await app_state.keys_with_prefix(db, "a%") == ["a%b.2"]
    assert await app_state.keys_with_prefix(db, "") == ["B", "a%b.2", "a_b", "a_b.1", "axb.3"]
