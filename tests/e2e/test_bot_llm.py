"""The daily post through the real discord.py client with the model server healthy, down and slow
(issue #19): the post goes out at its time either way, with the model's text only when it was
written before; the loopback fake model server stands in for Ollama or vLLM."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.config import Settings
from testkit.llm_fake import closed_port_url, fake_llm
from tests.e2e.bot_fixtures import settings_fixture, world_fixture  # noqa: F401 - fixtures
from tests.e2e.bot_harness import World, bounded, load_sample, running_bot
from tests.e2e.test_bot_notifications import NINE_BERLIN, set_up_daily_post


def _text(message: Any) -> str:
    return "\n".join(str(e.get("description", "")) for e in message.data.get("embeds", []))


async def _post(world: World, settings: Settings, *, wait_for_model: bool) -> str:
    async with running_bot(world, settings) as run:
        await set_up_daily_post(world)
        await load_sample(run)
        assert run.app.services.llm is not None
        if wait_for_model:
            await run.app.services.llm.idle()
        run.clock.set(NINE_BERLIN)
        report, _ = await run.app.settle()
        assert len(report.sent) == 1
    [post] = world.fake.messages_in(world.channel)
    return _text(post)


@pytest.mark.parametrize("stream", [False, True])
@bounded
async def test_healthy_the_post_carries_the_paragraph_and_tldrs(world: World, settings: Settings,
                                                                 stream: bool) -> None:
    async with fake_llm() as server:
        settings.llm.enabled, settings.llm.base_url, settings.llm.stream = True, server.base_url, stream
        text = await _post(world, settings, wait_for_model=True)
    assert "Today in papers" in text and "Today's papers span" in text
    assert text.count("TL;DR: The authors present") == 5


@bounded
async def test_server_down_the_post_is_the_extractive_one(world: World, settings: Settings) -> None:
    settings.llm.enabled, settings.llm.base_url = True, closed_port_url()
    text = await _post(world, settings, wait_for_model=True)
    assert "Highlights" in text and "Today in papers" not in text and "TL;DR" not in text


@bounded
async def test_server_slow_the_post_does_not_wait(world: World, settings: Settings) -> None:
    gate = asyncio.Event()  # nothing is answered until the post is out
    async with fake_llm(gate=gate) as server:
        settings.llm.enabled, settings.llm.base_url = True, server.base_url
        text = await _post(world, settings, wait_for_model=False)
        assert server.answered == 0
    assert "Highlights" in text and "Today in papers" not in text
