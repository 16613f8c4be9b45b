"""The Discord fake's own tests: the `discord_fake` fixture, on loopback only."""

from testkit.discord_fake.fixtures import discord_fake  # noqa: F401
from testkit.loopback import loopback_only  # noqa: F401 - autouse fixture
