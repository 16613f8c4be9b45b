"""A small client of the OpenAI-compatible chat-completions API (OpenAI, Ollama, vLLM, llama.cpp's
server), over aiohttp, answers in one body or streamed as server-sent events.

One call, one answer: `await client.complete(messages, max_tokens=...)`. The whole call, retries
included, ends by `timeout_seconds`: a 429 is retried after its Retry-After and a 5xx or a dropped
connection after a short back-off, only while that fits before the deadline. Whatever goes wrong
becomes an `LlmError` with a one-line reason fit for the status report; the API key (sent as a
Bearer token) is registered as a secret, so no log line or reason shows it. At most
`max_concurrency` requests are in flight at once, whoever asks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.redact import redact, register_secret

if TYPE_CHECKING:  # imported when the first request is made: status and the CLI need no HTTP stack
    import aiohttp

log = logging.getLogger(__name__)

RETRYABLE = frozenset({429, 500, 502, 503, 504})
BACKOFF_S = (0.5, 1.0, 2.0)  # waits before the retries of a 5xx or a dropped connection
MAX_ANSWER_CHARS = 20_000  # a runaway answer is cut off: no summary is that long
MAX_BODY_BYTES = 1_000_000  # a larger body is refused unread: no chat completion of a summary is that big
Sleep = Callable[[float], Awaitable[None]]


class LlmError(Exception):
    """No usable answer. `kind`: "timeout", "unreachable", "http", "rate-limited", "malformed"."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(redact(reason))
        self.kind = kind


@dataclass(slots=True, frozen=True)
class Completion:
    """An answer and what it cost. `estimated`: the server reported no usage, so the token counts
    are estimated from the text's length (about four characters a token)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


class ChatClient:
    """Requests to one server for one model. Close with `await client.close()`."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout_seconds: float = 30.0,
                 max_concurrency: int = 4, stream: bool = False, sleep: Sleep = asyncio.sleep) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.stream = stream
        self._sleep = sleep
        self._gate = asyncio.Semaphore(max_concurrency)
        self._headers = {"User-Agent": f"Paperboy/{__version__}", "Content-Type": "application/json"}
        if api_key:
            register_secret(api_key)
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers)
        return self._session

    async def complete(self, messages: Sequence[dict[str, str]], *, max_tokens: int,
                       temperature: float = 0.2) -> Completion:
        """The model's answer to `messages`, within `timeout_seconds` (waiting for a free slot included)."""
        deadline = time.monotonic() + self.timeout_seconds
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), "max_tokens": max_tokens,
                                "temperature": temperature, "stream": self.stream}
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async with self._gate:
                    return await self._with_retries(body, deadline)
        except TimeoutError:
            raise LlmError("timeout", f"no answer within {self.timeout_seconds:g} s") from None

    async def _with_retries(self, body: dict[str, Any], deadline: float) -> Completion:
        attempt = 0
        while True:
            try:
                return await self._once(body)
            except _Retry as retry:
                wait = retry.after if retry.after is not None else BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                if attempt >= len(BACKOFF_S) or time.monotonic() + wait >= deadline:
                    raise retry.error from None
                log.info("%s; asking again in %.1f s", retry.error, wait)
                attempt += 1
                await self._sleep(wait)

    async def _once(self, body: dict[str, Any]) -> Completion:
        import aiohttp

        try:
            async with self._client().post(self.url, json=body) as response:
                if response.status in RETRYABLE:
                    kind = "rate-limited" if response.status == 429 else "http"
                    error = LlmError(kind, f"HTTP {response.status} from the model server")
                    raise _Retry(error, _retry_after(response.headers.get("Retry-After"))
                                 if response.status == 429 else None)
                if response.status >= 400:
                    raise LlmError("http", f"HTTP {response.status} from the model server"
                                   + (" (is the model name right?)" if response.status == 404 else ""))
                if self.stream:
                    return await _read_stream(response, body)
                raw = await response.content.read(MAX_BODY_BYTES + 1)
                if len(raw) > MAX_BODY_BYTES:
                    raise LlmError("malformed", f"the model server's answer is larger than {MAX_BODY_BYTES:,} bytes")
                return _read_body(raw.decode("utf-8", errors="replace"), body)
        except aiohttp.ClientConnectorError as exc:
            raise LlmError("unreachable", f"cannot reach the model server: {exc.strerror or exc}") from None
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise _Retry(LlmError("unreachable", f"the connection to the model server dropped: {exc}"), None) from None
        except aiohttp.ClientError as exc:  # anything else aiohttp refuses (a malformed status line, headers)
            raise LlmError("http", f"the model server's answer could not be read: {exc.__class__.__name__}") from None


class _Retry(Exception):
    def __init__(self, error: LlmError, after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.after = after


def _prompt_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body["messages"])


def _usage(data: Any, prompt: str, text: str) -> Completion:
    usage = data.get("usage") if isinstance(data, dict) else None
    if isinstance(usage, dict):
        p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(p, int) and isinstance(c, int) and p >= 0 and c >= 0:
            return Completion(text, p, c)
    return Completion(text, estimate_tokens(prompt), estimate_tokens(text), estimated=True)


def _read_body(raw: str, body: dict[str, Any]) -> Completion:
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LlmError("malformed", "the model server's answer is not chat-completions JSON") from None
    if not isinstance(content, str):
        raise LlmError("malformed", "the model server's answer has no text")
    return _usage(data, _prompt_text(body), content[:MAX_ANSWER_CHARS])


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The data of each server-sent event (`data: ...` lines; comments and other fields skipped)."""
    try:
        async for raw in response.content:
            line = raw.decode("utf-8", errors="replace").strip()
            if line.startswith("data:"):
                yield line[5:].strip()
    except ValueError:  # aiohttp: a line longer than its buffer
        raise LlmError("malformed", "the model server's stream holds a line too long to read") from None


async def _read_stream(response: aiohttp.ClientResponse, body: dict[str, Any]) -> Completion:
    parts: list[str] = []
    size = 0
    last: Any = None
    done = False
    async for data in _events(response):
        if data == "[DONE]":
            done = True
            break
        try:
            chunk = json.loads(data)
            choices = chunk.get("choices") or []
            delta = choices[0].get("delta", {}).get("content") if choices else None
        except (ValueError, AttributeError, IndexError, TypeError):
            raise LlmError("malformed", "the model server's stream holds an event that is not JSON") from None
        if isinstance(delta, str) and size < MAX_ANSWER_CHARS:
            parts.append(delta)
            size += len(delta)
        if isinstance(chunk, dict) and chunk.get("usage"):
            last = chunk
    if not done and not parts:
        raise LlmError("malformed", "the model server's stream ended without an answer")
    return _usage(last, _prompt_text(body), "".join(parts)[:MAX_ANSWER_CHARS])
