"""`paperboy web`: serve the read-only web archive on its own (`paperboy run` serves it too with
`[web] enabled`). SIGINT/SIGTERM stop it cleanly (exit 0)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from bot.cli.common import CliContext, CliError

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not a TCP port (0 to 65535; 0 picks a free one)")
    return int(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("web",
                       description="Serve the read-only web archive: the latest digest, a page per digest and "
                                   "paper, search, Atom feeds, a JSON API, /healthz and /metrics. Runs until "
                                   "SIGINT/SIGTERM.")
    p.add_argument("--host", help="the address to listen on (default: [web] host, 127.0.0.1)")
    p.add_argument("--port", type=_port, help="the TCP port (default: [web] port, 8080; 0 picks a free one)")
    p.set_defaults(handler=run_web)


async def run_web(ctx: CliContext) -> int:
    from bot.config import host_problem
    from bot.web.server import WebServerError

    host = ctx.args.host if ctx.args.host is not None else ctx.settings.web.host
    problem = host_problem(host)
    if problem:
        raise CliError(f"--host '{host}' {problem}")
    port = ctx.args.port if ctx.args.port is not None else ctx.settings.web.port
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await _serve(ctx.settings, host, port, stop)
    except WebServerError as exc:
        raise CliError(str(exc), status=1) from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return 0


async def _serve(settings: Settings, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve the archive over an App of its own until `stop` is set."""
    from bot.app import App
    from bot.processes.tuning import WEB_SWITCH_INTERVAL, ProcessTuning
    from bot.web.server import NoOutbound

    app = await App.open(settings, NoOutbound(), platform="web")
    try:
        url = await app.start_web(host, port)
        print(f"Serving the archive at {url}/ (Ctrl-C stops it)", flush=True)
        log.info("web archive at %s", url)
        with ProcessTuning(WEB_SWITCH_INTERVAL):
            await stop.wait()
    finally:
        await app.close()
