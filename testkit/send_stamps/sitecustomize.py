"""Test instrumentation, loaded at start-up by a bot process that testkit.bot_process runs with
this folder first on PYTHONPATH and TESTKIT_SEND_STAMPS naming a file: every REST request the
process makes is written there as it leaves (`time.monotonic()`, the machine's clock shared by
every process, then the method and URL), one line each.

It lets a test count requests where the processes control them, as they are sent: the Discord
fake stamps them as it reads them, and a fake kept waiting for a CPU on a busy machine stamps the
requests that queued meanwhile as arriving together. Never part of the product.
"""

import os
import time

_path = os.environ.get("TESTKIT_SEND_STAMPS")
if _path:
    from typing import Any

    import aiohttp

    _original = aiohttp.ClientSession._request
    _out = open(_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open for the process's life

    async def _request(self: aiohttp.ClientSession, method: str, str_or_url: Any, *args: Any, **kwargs: Any) -> Any:
        if "/api/v" in str(str_or_url):  # REST, not the gateway's websocket or an attachment
            _out.write(f"{time.monotonic():.6f} {method} {str_or_url}\n")
        return await _original(self, method, str_or_url, *args, **kwargs)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign]
