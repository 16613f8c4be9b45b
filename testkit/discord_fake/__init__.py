"""A loopback Discord (REST + gateway) for driving the real discord.py client in tests.

See ``server.DiscordFake`` for the API, ``patching.point_discord_py_at`` to aim discord.py at it,
and ``fixtures`` for pytest fixtures (``discord_fake``) and ``running_client``. Inside:
``state.py`` holds the Discord it plays, ``rest.py`` and ``gateway.py`` serve that state,
``wire.py`` shapes what goes on the wire, and ``server.DiscordFake`` runs them.
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
from .server import DiscordFake
from .state import Endpoint, Fault

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
    "Endpoint",
    "Fault",
    "FieldError",
    "InteractionHandle",
    "RecordedRequest",
    "ResponseAttempt",
    "configure_discord_endpoints",
    "point_discord_py_at",
]
