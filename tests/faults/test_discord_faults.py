"""Discord misbehaving while the production bot works: 5xx bursts (some after the message was
made: lost responses) during a fan-out, 429 bursts on interaction answers, and the gateway
dropping and resuming with interactions arriving meanwhile. Nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from testkit.faults.scenarios import keyed_resends
from tests.e2e.bot_fixtures import settings_fixture, world_fixture  # noqa: F401 - fixtures
from tests.e2e.bot_harness import World, bounded, load_sample, running_bot
from tests.e2e.test_bot_notifications import _another_server, fan_out


@bounded
async def test_a_burst_of_5xx_and_lost_responses_during_a_fan_out(world: World, settings: Settings) -> None:
    fake = world.fake
    servers = [world] + [_another_server(world, i) for i in range(2)]

    def burst() -> None:
        fake.inject_error("/channels/*/messages", status=502, count=2, method="POST")
        fake.inject_error("/channels/*/messages", status=500, count=2, method="POST", after_handling=True)

    await fan_out(world, settings, servers, burst)  # asserts one post per server, pages unique, log 'sent'
    failed = [r.status for r in fake.requests_to("POST", "/channels/*/messages") if r.status >= 500]
    assert sorted(failed) == [500, 500, 502, 502]
    assert keyed_resends(fake) == 4  # each failed request was repeated with its key


@bounded
async def test_interactions_are_answered_through_429_bursts(world: World, settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings) as run:
        await load_sample(run)
        fake.inject_rate_limit("/interactions/*/*/callback", count=5, method="POST", retry_after=0.05)
        handles = [await fake.slash("search", {"query": q}, guild=world.guild, channel=world.channel,
                                    user=world.member) for q in ("diffusion", "agents", "vision", "speech", "robot")]
        answers = [await h.original_response() for h in handles]
    assert all(a.embeds or a.content for a in answers)
    assert all(h.acknowledged and len(h.callbacks) >= 1 and not [r for r in h.rejections if r.status != 429]
               for h in handles)


@bounded
async def test_the_gateway_drops_and_resumes_and_interactions_sent_meanwhile_are_answered(
        world: World, settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings) as run:
        await load_sample(run)
        await fake.drop_gateway()
        # Dispatched while the bot is reconnecting: the fake replays them after RESUME.
        handles = await asyncio.gather(*(fake.slash("search", {"query": q}, guild=world.guild,
                                                    channel=world.channel, user=world.member)
                                         for q in ("diffusion", "agents", "vision")))
        answers = [await h.original_response() for h in handles]
        await fake.gateway.send_op(7)  # RECONNECT asked by Discord: resume again
        after = await fake.slash("help", guild=world.guild, channel=world.channel, user=world.member)
        assert (await after.original_response()).embeds
    assert all(a.embeds or a.content for a in answers)
    assert all(len(h.callbacks) == 1 for h in [*handles, after])  # each answered once
    assert fake.gateway.identifies == 1 and fake.gateway.resumes == 2
