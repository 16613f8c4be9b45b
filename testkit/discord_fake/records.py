"""What the fake records: requests, messages, interactions and the responses to them."""

# Waits take an explicit `timeout`: test helpers must never hang the suite.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Interaction types (as dispatched) and callback types (as answered).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    APPLICATION_COMMAND: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL}),
    MESSAGE_COMPONENT: frozenset(
        {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE, MODAL}
    ),
    AUTOCOMPLETE: frozenset({AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset({CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE}),
}


@dataclass
class RecordedRequest:
    """One HTTP request the client made. The Authorization header is never stored."""

    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    had_authorization: bool
    status: int = 0
    response: Any = None
    matched_route: str | None = None  # None: unknown route (answered 404)
    injected: bool = False  # answered by a queued fault (429/5xx)
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic, this process)
    client: str = ""  # the named endpoint it came through (DiscordFake.endpoint), "" for the fake's own port


@dataclass
class FakeMessage:
    """A message as the fake stores it; ``data`` is the payload Discord would return."""

    data: dict[str, Any]
    source: str  # "channel" | "interaction" | "followup"
    request: Any = None  # the body the client sent
    allowed_mentions: dict[str, Any] | None = None
    interaction_id: int | None = None
    edits: list[Any] = field(default_factory=list)
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def channel_id(self) -> int:
        return int(self.data["channel_id"])

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.data.get("components") or [])

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def mentions(self) -> list[int]:
        return [int(u["id"]) for u in self.data.get("mentions") or []]

    @property
    def mention_everyone(self) -> bool:
        return bool(self.data.get("mention_everyone"))

    def custom_ids(self) -> list[str]:
        out: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("custom_id"), str):
                    out.append(node["custom_id"])
                for child in node.get("components") or []:
                    walk(child)
                if "accessory" in node:
                    walk(node["accessory"])

        for row in self.components:
            walk(row)
        return out


@dataclass
class ResponseAttempt:
    """One request made with an interaction's id/token: callback, follow-up, or edit."""

    kind: str  # "callback" | "followup" | "edit_original" | "get_original" | "delete_original" | "edit_followup" ...
    status: int
    body: Any
    response: Any
    callback_type: int | None = None
    at: float = 0.0  # seconds after the interaction was dispatched

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> int | None:
        if isinstance(self.response, dict) and not self.ok:
            code = self.response.get("code")
            return int(code) if code is not None else None
        return None

    @property
    def data(self) -> dict[str, Any]:
        """``body["data"]`` for callbacks, the body itself for follow-ups and edits."""
        if self.kind == "callback":
            inner = self.body.get("data") if isinstance(self.body, dict) else None
            return dict(inner or {})
        return dict(self.body or {}) if isinstance(self.body, dict) else {}


class Notifier:
    """A broadcast 'something changed' signal for polling waits."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            try:
                await asyncio.wait_for(self._event.wait(), timeout=min(remaining, 0.25))
            except TimeoutError:
                pass


@dataclass
class InteractionHandle:
    """An interaction the fake dispatched; collects every response the client made to it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    created_at: float  # loop.time() at dispatch
    notifier: Notifier
    message: FakeMessage | None = None  # the message a component interaction came from
    attempts: list[ResponseAttempt] = field(default_factory=list)
    callback_type: int | None = None
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def callbacks(self) -> list[ResponseAttempt]:
        return [a for a in self.attempts if a.kind == "callback"]

    @property
    def callback(self) -> ResponseAttempt | None:
        """The accepted initial response, if any."""
        return next((a for a in self.callbacks if a.ok), None)

    @property
    def rejections(self) -> list[ResponseAttempt]:
        return [a for a in self.attempts if not a.ok]

    @property
    def ephemeral(self) -> bool:
        cb = self.callback
        return bool(cb is not None and int(cb.data.get("flags") or 0) & EPHEMERAL)

    async def wait(
        self, kind: str = "callback", count: int = 1, *, timeout: float = 5.0, ok_only: bool = False
    ) -> list[ResponseAttempt]:
        """Wait until at least ``count`` attempts of ``kind`` ("any" for all kinds) were made."""

        def found() -> list[ResponseAttempt] | None:
            got = [a for a in self.attempts if (kind == "any" or a.kind == kind) and (a.ok or not ok_only)]
            return got if len(got) >= count else None

        result: list[ResponseAttempt] = await self.notifier.wait_until(
            found, timeout, f"{count} {kind} response(s) to interaction {self.id}"
        )
        return result

    async def response(self, timeout: float = 5.0) -> ResponseAttempt:
        """The first callback attempt (accepted or rejected)."""
        return (await self.wait("callback", 1, timeout=timeout))[0]

    async def followup(self, index: int = 0, timeout: float = 5.0) -> FakeMessage:
        await self.notifier.wait_until(lambda: len(self.followups) > index, timeout, f"follow-up #{index}")
        return self.followups[index]

    async def original_response(self, timeout: float = 5.0) -> FakeMessage:
        """The original response once it is no longer a 'thinking…' placeholder."""

        def ready() -> FakeMessage | None:
            msg = self.original
            return msg if msg is not None and not msg.loading else None

        result: FakeMessage = await self.notifier.wait_until(ready, timeout, "the original response")
        return result
