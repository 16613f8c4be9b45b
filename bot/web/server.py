"""Serving the web archive: inside `paperboy run` (`[web] enabled`), or alone (`paperboy web`).

`WebServer.start(services, host, port)` listens at once, so a port already taken is an error
before anything else starts; `close()` stops listening and lets requests under way finish.
`NoOutbound` is the outbound of `paperboy web` (bot/cli/web.py), the archive over an App of its
own: it sends nothing, and runs no daily post, notifications or fetching.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.chat.outbound import SendError, Sent
from bot.chat.replies import Reply
from bot.commands.context import Services
from bot.web.app import make_app

SHUTDOWN_TIMEOUT = 5.0


class WebServerError(Exception):
    """The archive could not listen where asked; the message says where and why."""


@dataclass(slots=True)
class WebServer:
    runner: web.AppRunner
    url: str

    @classmethod
    async def start(cls, services: Services, host: str, port: int) -> WebServer:
        runner = web.AppRunner(make_app(services), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT,
                               handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise WebServerError(f"the web archive cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = runner.addresses[0] if runner.addresses else (host, port)
        shown = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
        return cls(runner, f"http://{shown}:{bound[1]}")

    async def close(self) -> None:
        await self.runner.cleanup()


class NoOutbound:
    """The outbound of a process that only serves the archive: it never sends (nothing asks it to)."""

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        raise _refused()

    async def start_thread(self, message: Sent, name: str) -> str:
        raise _refused()

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        raise _refused()


def _refused() -> SendError:
    error = SendError("`paperboy web` sends no messages")
    error.permanent = True
    return error
