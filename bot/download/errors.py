"""The fetching layer's error, in a module of its own so that importing it costs nothing.

`bot.download.http` (aiohttp, slow to import) re-exports it; code that only needs to recognise
a failed download (the commands' error mapping, the loader's input errors) imports it from here.
"""

from __future__ import annotations

from bot.redact import redact


class DownloadError(Exception):
    """A URL that could not be downloaded; the message names the URL and why."""

    def __init__(self, url: str, reason: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(redact(f"{url}: {reason}"))
        self.url = url
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
