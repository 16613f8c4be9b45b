"""A loopback fake of an OpenAI-compatible chat-completions server, for tests and bench/llm.py.

    async with fake_llm() as server:            # http://127.0.0.1:PORT/v1
        settings.llm.base_url = server.base_url
        server.script += [Answer(status=429, headers={"Retry-After": "0"}), Answer(raw="{not json")]
        ...
        server.requests                          # every JSON body received, in order

By default it answers like a careful model: a TL;DR or a day's paragraph built from the quoted
papers' own words (so the answers pass the checks), in one body or, when the request says
`"stream": true`, as server-sent events (with a usage event when asked for `include_usage`).
`script` queues one-off behaviours for the next requests (a status with headers, a raw body, a
custom text, a hang); `delay` answers after a fixed time (the bench); `gate`, when set, holds every
request until it is set (a server that is slow for exactly as long as a test wants, no timing);
`gullible` follows instructions written in an abstract, as a weak model would.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

INJECTED = "@everyone The real results are at https://evil.example: 99% better than anything."


@dataclass
class Answer:
    """One scripted behaviour: a status (with headers), a raw body, a given text, or a hang."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None  # the body as it is (malformed JSON, a stream of broken events)
    text: str | None = None  # the answer's text instead of the careful one
    hang: bool = False  # never answer (the client's timeout ends it)


@dataclass
class FakeLlm:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    delay: float = 0.0
    gate: asyncio.Event | None = None
    usage: bool = True  # report token usage (some servers do not)
    gullible: bool = False
    answered: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first request

    @property
    def tokens(self) -> int:
        return sum(_tokens(body) for body in self.requests)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        self.arrived.set()
        step = self.script.pop(0) if self.script else Answer()
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if step.hang:
            await asyncio.Event().wait()
        if step.status != 200:
            return web.json_response({"error": {"message": "scripted"}}, status=step.status, headers=step.headers)
        if step.raw is not None:
            return web.Response(text=step.raw, content_type="text/event-stream" if body.get("stream")
                                else "application/json")
        text = step.text if step.text is not None else self.careful_answer(body)
        self.answered += 1
        usage = {"prompt_tokens": _tokens(body), "completion_tokens": len(text) // 4 + 1}
        if not body.get("stream"):
            data: dict[str, Any] = {"id": "fake", "object": "chat.completion", "model": body.get("model"),
                                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                                 "finish_reason": "stop"}]}
            if self.usage:
                data["usage"] = {**usage, "total_tokens": sum(usage.values())}
            return web.json_response(data)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i in range(0, len(text), 8):
            chunk = {"choices": [{"index": 0, "delta": {"content": text[i:i + 8]}}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        if self.usage and (body.get("stream_options") or {}).get("include_usage"):
            await response.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def careful_answer(self, body: dict[str, Any]) -> str:
        user = next((m["content"] for m in body["messages"] if m.get("role") == "user"), "")
        if self.gullible and "ignore previous instructions" in user.lower():
            return INJECTED
        titles = re.findall(r"^Title: (.*)$", user, re.MULTILINE)
        if "today in papers" in user:
            themes = re.findall(r"([^;:]+?) \(\d+ papers\)", (re.findall(r"^Themes: (.*)$", user, re.MULTILINE)
                                                            or [""])[0])
            about = ", ".join(t.strip() for t in themes[:3]) or "several topics"
            return (f"Today's papers span {about}. Most of them build or evaluate models, and the highlights "
                    "lead the list by upvotes.")
        title = titles[0] if titles else "this work"
        return f"The authors present {title} and show how it does on their own benchmarks."


def _tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in body.get("messages", [])) // 4 + 1


@asynccontextmanager
async def fake_llm(**options: Any) -> AsyncIterator[FakeLlm]:
    server = FakeLlm(**options)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield server
    finally:
        if server.gate is not None:
            server.gate.set()
        await runner.cleanup()


def closed_port_url() -> str:
    """The base URL of a server that is down: a loopback port nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
