"""Fixtures for end-to-end tests against the loopback Discord fake."""

from tests.discord_fake.fixtures import discord_fake  # noqa: F401
