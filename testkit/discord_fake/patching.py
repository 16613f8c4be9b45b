"""Point discord.py at another REST base and gateway (the fake here; a proxy in production).

``configure_discord_endpoints`` is the small piece production code can mirror for
``PAPERBOY_DISCORD_API_BASE`` / ``PAPERBOY_DISCORD_GATEWAY_URL``: discord.py builds every REST
URL (webhooks and interaction callbacks included) from ``discord.http.Route.BASE`` when a
``Route`` is constructed, and a plain ``Client``/``Bot`` connects to
``DiscordWebSocket.DEFAULT_GATEWAY`` (a ``yarl.URL``) plus ``?v=10&encoding=json&compress=…``;
reconnects go to READY's ``resume_gateway_url``. Both are class attributes, so the setting is
process-wide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

if TYPE_CHECKING:
    from .server import DiscordFake


def configure_discord_endpoints(api_base: str | None = None, gateway_url: str | None = None) -> Callable[[], None]:
    """Set the REST base (``.../api/v10``) and/or gateway URL; returns a function restoring both."""
    old_base = Route.BASE
    old_gateway = DiscordWebSocket.DEFAULT_GATEWAY
    if api_base:
        Route.BASE = api_base.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


@contextmanager
def point_discord_py_at(fake: DiscordFake) -> Iterator[None]:
    """Within the block, discord.py talks to ``fake`` (REST and gateway); restored afterwards."""
    restore = configure_discord_endpoints(fake.api_base, fake.gateway_url)
    try:
        yield
    finally:
        restore()
