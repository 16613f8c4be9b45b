"""The chat-completions client against the loopback fake server: answers in one body and streamed,
429 with Retry-After, 5xx, timeouts, malformed JSON, a server that is down, the API key (issue #19)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.llm.client import ChatClient, LlmError
from bot.redact import RedactingFormatter
from testkit.llm_fake import Answer, FakeLlm, closed_port_url, fake_llm

MESSAGES = ({"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Write a TL;DR.\n\n<paper>\nTitle: Flash Attention\nAbstract: Fast.\n</paper>"})
KEY = "sk-test-0123456789abcdef-secret"


async def _ask(server: FakeLlm | str, *, stream: bool = False, limit: float = 10.0, key: str | None = None,
               waits: list[float] | None = None) -> tuple[str, int, int, bool]:
    async def sleep(seconds: float) -> None:
        (waits if waits is not None else []).append(seconds)

    url = server if isinstance(server, str) else server.base_url
    client = ChatClient(url, "fake-model", api_key=key, timeout_seconds=limit, stream=stream, sleep=sleep)
    try:
        answer = await client.complete(MESSAGES, max_tokens=50)
    finally:
        await client.close()
    return answer.text, answer.prompt_tokens, answer.completion_tokens, answer.estimated


@pytest.mark.parametrize("stream", [False, True])
async def test_an_answer_in_one_body_or_streamed_with_its_usage(stream: bool) -> None:
    async with fake_llm() as server:
        text, prompt, completion, estimated = await _ask(server, stream=stream)
    assert text == "The authors present Flash Attention and show how it does on their own benchmarks."
    assert (prompt, completion, estimated) == (server.tokens, len(text) // 4 + 1, False)
    body = server.requests[0]
    assert body["model"] == "fake-model" and body["stream"] is stream and body["max_tokens"] == 50
    assert body["messages"] == list(MESSAGES)
    assert ("stream_options" in body) is stream


@pytest.mark.parametrize("stream", [False, True])
async def test_without_usage_the_tokens_are_estimated(stream: bool) -> None:
    async with fake_llm(usage=False) as server:
        text, prompt, completion, estimated = await _ask(server, stream=stream)
    assert estimated and prompt > 10 and completion == -(-len(text) // 4)


async def test_429_waits_for_retry_after_then_asks_again() -> None:
    waits: list[float] = []
    async with fake_llm() as server:
        server.script += [Answer(status=429, headers={"Retry-After": "2"})]
        text, *_ = await _ask(server, waits=waits)
    assert text.startswith("The authors present") and waits == [2.0] and len(server.requests) == 2


async def test_a_retry_after_past_the_deadline_fails_at_once() -> None:
    waits: list[float] = []
    async with fake_llm() as server:
        server.script += [Answer(status=429, headers={"Retry-After": "120"})]
        with pytest.raises(LlmError, match="HTTP 429") as caught:
            await _ask(server, limit=5, waits=waits)
    assert caught.value.kind == "rate-limited" and waits == [] and len(server.requests) == 1


async def test_5xx_is_retried_with_back_off_then_given_up() -> None:
    waits: list[float] = []
    async with fake_llm() as server:
        server.script += [Answer(status=500), Answer(status=503)]
        text, *_ = await _ask(server, waits=waits)
        assert text.startswith("The authors") and waits == [0.5, 1.0]
        server.script += [Answer(status=500)] * 4
        with pytest.raises(LlmError, match="HTTP 500 from the model server") as caught:
            await _ask(server, waits=waits)
    assert caught.value.kind == "http" and len(server.requests) == 3 + 4


async def test_a_4xx_is_not_retried_and_a_404_hints_at_the_model_name() -> None:
    async with fake_llm() as server:
        server.script += [Answer(status=404)]
        with pytest.raises(LlmError, match=r"HTTP 404 from the model server \(is the model name right\?\)"):
            await _ask(server)
    assert len(server.requests) == 1


async def test_a_server_that_never_answers_times_out() -> None:
    async with fake_llm() as server:
        server.script += [Answer(hang=True)]
        with pytest.raises(LlmError, match=r"no answer within 0.2 s") as caught:
            await _ask(server, limit=0.2)
    assert caught.value.kind == "timeout"


@pytest.mark.parametrize(("stream", "raw"), [
    (False, "{not json"), (False, '{"choices": []}'), (False, '{"choices": [{"message": {"content": 7}}]}'),
    (True, "data: {oops\n\n"), (True, ": keep-alive\n\n"),
    (False, "{" + " " * 1_000_001 + "}"),  # larger than any answer: refused unread
])
async def test_malformed_answers_are_errors_not_crashes(stream: bool, raw: str) -> None:
    async with fake_llm() as server:
        server.script += [Answer(raw=raw)]
        with pytest.raises(LlmError) as caught:
            await _ask(server, stream=stream)
    assert caught.value.kind == "malformed" and "model server" in str(caught.value)


async def test_a_server_that_is_down_is_unreachable() -> None:
    with pytest.raises(LlmError, match="cannot reach the model server") as caught:
        await _ask(closed_port_url())
    assert caught.value.kind == "unreachable"


async def test_concurrency_is_capped() -> None:
    gate = asyncio.Event()
    async with fake_llm(gate=gate) as server:
        client = ChatClient(server.base_url, "m", max_concurrency=2, timeout_seconds=30)
        try:
            asks = [asyncio.create_task(client.complete(MESSAGES, max_tokens=5)) for _ in range(5)]
            for _ in range(200):  # room for a third request to arrive, were the cap broken
                await asyncio.sleep(0.005)
            assert len(server.requests) == 2
            gate.set()
            await asyncio.gather(*asks)
        finally:
            await client.close()
    assert len(server.requests) == 5


async def test_the_api_key_is_sent_as_a_bearer_token_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with fake_llm() as server:
        server.script += [Answer(status=503)]
        await _ask(server, key=KEY)
    assert all(h.get("Authorization") == f"Bearer {KEY}" for h in server.headers)
    shown = "\n".join(RedactingFormatter("%(message)s").format(r) for r in caplog.records)
    assert KEY not in shown
    assert str(LlmError("http", f"echo Authorization: Bearer {KEY}")) == "echo Authorization: Bearer [redacted]"
