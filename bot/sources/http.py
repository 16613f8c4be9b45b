"""A small, polite HTTP client for downloading digests (aiohttp, already a discord.py dependency)."""

from __future__ import annotations

import aiohttp

from bot import __version__

USER_AGENT = f"Paperboy/{__version__} (research-paper digest bot)"


class DownloadError(Exception):
    """A URL that could not be downloaded; the message names the URL and why."""


async def download(url: str, *, max_bytes: int, timeout_s: float = 30.0) -> bytes:
    """GET `url` and return its body, refusing bodies over `max_bytes`."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": USER_AGENT}) as session, \
                session.get(url) as response:
            if response.status != 200:
                raise DownloadError(f"{url}: the server answered HTTP {response.status}")
            if response.content_length is not None and response.content_length > max_bytes:
                raise DownloadError(
                    f"{url}: the body is {response.content_length} bytes, over the limit of {max_bytes}")
            body = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                body += chunk
                if len(body) > max_bytes:
                    raise DownloadError(f"{url}: the body is over the limit of {max_bytes} bytes")
            return bytes(body)
    except TimeoutError as exc:
        raise DownloadError(f"{url}: no answer within {timeout_s:g} s") from exc
    except aiohttp.ClientError as exc:
        raise DownloadError(f"{url}: {exc.__class__.__name__}: {exc}") from exc
