"""A loopback Discord (REST + gateway) for driving the real discord.py client in tests.

See ``server.DiscordFake`` for the API, ``patching.point_discord_py_at`` to aim discord.py at it,
and ``fixtures`` for pytest fixtures (``discord_fake``) and ``running_client``.
"""

from .limits import FieldError
from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    MANAGE_GUILD,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
)
from .patching import configure_discord_endpoints, point_discord_py_at
from .records import FakeMessage, InteractionHandle, RecordedRequest, ResponseAttempt
from .server import DiscordFake, Fault

__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "MANAGE_GUILD",
    "DiscordFake",
    "FakeChannel",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "Fault",
    "FieldError",
    "InteractionHandle",
    "RecordedRequest",
    "ResponseAttempt",
    "configure_discord_endpoints",
    "point_discord_py_at",
]
