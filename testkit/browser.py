"""Headless Chromium driven over the Chrome DevTools Protocol (its websocket, with aiohttp): open a
page, read what a person sees, type, press keys, take screenshots. No selenium or playwright:
Debian's `chromium` package and the protocol are enough.

    async with Browser.launch(tmp_path) as browser:
        page = await browser.page()
        await page.goto("http://127.0.0.1:8080/")
        text = await page.evaluate("document.body.innerText")
        png = await page.screenshot()
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


class BrowserUnavailable(Exception):
    """No headless Chromium here (the message says what to install)."""


def find_chromium() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable("no chromium on PATH (Debian: apt-get install chromium)")


class Page:
    """One tab: commands in, their results back; events kept for whoever waits for them."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self._event = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif "method" in data:
                self.events.append(data)
                self._event.set()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self.ws.send_json({"id": number, "method": method, "params": params})
        reply = await asyncio.wait_for(future, timeout=30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def wait_event(self, method: str, *, after: int = 0, within: float = 30) -> dict[str, Any]:
        async def found() -> dict[str, Any]:
            while True:
                for event in self.events[after:]:
                    if event["method"] == method:
                        return event
                self._event.clear()
                await self._event.wait()
        return await asyncio.wait_for(found(), within)

    async def goto(self, url: str) -> None:
        mark = len(self.events)
        await self.send("Page.navigate", url=url)
        await self.wait_event("Page.loadEventFired", after=mark)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, within: float = 15) -> Any:
        """Poll `expression` until it is truthy (what a person would wait for, not a fixed sleep)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"waited {within} s for {expression}")
            await asyncio.sleep(0.05)

    async def press(self, key: str, code: int, text: str = "") -> None:
        await self.send("Input.dispatchKeyEvent", type="keyDown", key=key, code=key,
                        windowsVirtualKeyCode=code, nativeVirtualKeyCode=code, text=text)
        await self.send("Input.dispatchKeyEvent", type="keyUp", key=key, code=key,
                        windowsVirtualKeyCode=code, nativeVirtualKeyCode=code)

    async def type(self, text: str) -> None:
        for ch in text:
            await self.send("Input.insertText", text=ch)

    async def screenshot(self, path: Path | None = None) -> bytes:
        png = base64.b64decode((await self.send("Page.captureScreenshot", format="png"))["data"])
        if path is not None:
            path.write_bytes(png)
        return png

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.ws.close()


class Browser:
    def __init__(self, process: asyncio.subprocess.Process, endpoint: str, session: aiohttp.ClientSession) -> None:
        self.process = process
        self.endpoint = endpoint  # http://127.0.0.1:PORT
        self.session = session
        self.pages: list[Page] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, folder: Path, *, width: int = 1280, height: int = 900) -> AsyncIterator[Browser]:
        profile = folder / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        args = [find_chromium(), "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        process = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.DEVNULL,
                                                       stderr=asyncio.subprocess.DEVNULL)
        session = aiohttp.ClientSession()
        browser: Browser | None = None
        try:
            port_file = profile / "DevToolsActivePort"
            for _ in range(600):
                if port_file.exists() and port_file.read_text().strip():
                    break
                if process.returncode is not None:
                    raise BrowserUnavailable(f"chromium exited with status {process.returncode}")
                await asyncio.sleep(0.05)
            else:
                raise BrowserUnavailable("chromium did not open its DevTools port within 30 s")
            port = int(port_file.read_text().split()[0])
            browser = cls(process, f"http://127.0.0.1:{port}", session)
            yield browser
        finally:
            for page in browser.pages if browser else []:
                await page.close()
            await session.close()
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), timeout=10)
                except TimeoutError:
                    process.kill()
                    await process.wait()

    async def page(self) -> Page:
        async with self.session.put(f"{self.endpoint}/json/new?about:blank") as response:
            target = await response.json(content_type=None)
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        self.pages.append(page)
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            await page.send(domain)
        return page


def png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, data, header = 8, b"", b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunk = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            data += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and color in (2, 6), "only 8-bit RGB(A) PNGs"
    step = 3 if color == 2 else 4
    raw = zlib.decompress(data)
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up = previous[x]
            corner = previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line if step == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3)))
        previous = line
    return width, height, rows


def ink(png: bytes) -> float:
    """The share of pixels that differ from the most common colour (0: a blank screenshot)."""
    from collections import Counter

    _, _, rows = png_pixels(png)
    colours: Counter[bytes] = Counter()
    for row in rows[::4]:
        colours.update(row[i:i + 3] for i in range(0, len(row), 12))
    total = sum(colours.values())
    return 1 - colours.most_common(1)[0][1] / total if total else 0.0
