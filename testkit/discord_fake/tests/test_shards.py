"""The fake's shards: IDENTIFY's [shard_id, shard_count], READY and GUILD_CREATE per shard, events
routed to the guild's shard, invalid shards refused, /gateway/bot's recommendation, and every
request time-stamped so a test can count the most in any one second across clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from testkit.discord_fake import DiscordFake
from testkit.discord_fake.fixtures import bounded, minimal_intents, running_client, skip_reidentify_delay
from testkit.discord_fake.records import RecordedRequest


class ShardedBot(discord.AutoShardedClient):
    """A bare sharded client that records which shards became ready and which interactions came."""

    def __init__(self, **options: Any) -> None:
        super().__init__(intents=minimal_intents(), guild_ready_timeout=0.05, **options)
        self.ready_shards: list[int] = []
        self.interactions: list[tuple[int | None, int | None]] = []  # (guild id, shard id)
        skip_reidentify_delay(self)

    async def on_shard_ready(self, shard_id: int) -> None:
        self.ready_shards.append(shard_id)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        shard = interaction.guild.shard_id if interaction.guild is not None else None
        self.interactions.append((interaction.guild_id, shard))
        await interaction.response.send_message("ok", ephemeral=True)


def test_add_guild_places_a_guild_on_the_shard_asked_for() -> None:
    fake = DiscordFake()
    guilds = [fake.add_guild(f"g{i}", shard=(i % 7, 7)) for i in range(50)]
    assert [fake.shard_of(g.id, 7) for g in guilds] == [i % 7 for i in range(50)]
    assert len({g.id for g in guilds}) == 50


@bounded
async def test_each_shard_gets_ready_and_only_its_guilds(discord_fake: DiscordFake) -> None:
    fake = discord_fake
    guilds = [fake.add_guild(f"g{i}", shard=(i % 3, 3)) for i in range(9)]
    for guild in guilds:
        fake.add_text_channel(guild, "general")
    bot = ShardedBot(shard_ids=[0, 2], shard_count=3)
    async with running_client(fake, bot):
        assert fake.gateway.identified_shards == [(0, 3), (2, 3)]
        assert sorted(bot.ready_shards) == [0, 2]
        assert {g.id for g in bot.guilds} == {g.id for g in guilds if fake.shard_of(g.id, 3) != 1}
        ready = {s.shard: next(e for e in s.events if e["t"] == "READY")["d"] for s in fake.gateway.by_shard.values()}
        assert {shard: r["shard"] for shard, r in ready.items()} == {(0, 3): [0, 3], (2, 3): [2, 3]}
        assert {shard: len(r["guilds"]) for shard, r in ready.items()} == {(0, 3): 3, (2, 3): 3}
        # An interaction goes to its guild's shard; a direct message's to shard 0.
        on_two = next(g for g in guilds if fake.shard_of(g.id, 3) == 2)
        handle = await fake.slash("ping", guild=on_two)
        assert (await handle.response()).ok
        dm = await fake.slash("ping", user=fake.add_user("someone"))
        assert (await dm.response()).ok
        assert bot.interactions == [(on_two.id, 2), (None, None)]


@bounded
async def test_processes_with_other_shards_connect_side_by_side(discord_fake: DiscordFake) -> None:
    fake = discord_fake
    guilds = [fake.add_guild(f"g{i}", shard=(i % 4, 4)) for i in range(8)]
    for guild in guilds:
        fake.add_text_channel(guild, "general")
    first, second = ShardedBot(shard_ids=[0, 1], shard_count=4), ShardedBot(shard_ids=[2, 3], shard_count=4)
    async with running_client(fake, first), running_client(fake, second):
        assert fake.gateway.connected_shards == {(0, 4), (1, 4), (2, 4), (3, 4)}  # nobody was kicked
        assert {g.id for g in first.guilds} | {g.id for g in second.guilds} == {g.id for g in guilds}
        assert not {g.id for g in first.guilds} & {g.id for g in second.guilds}
        for guild in guilds:
            assert (await (await fake.slash("ping", guild=guild)).response()).ok
        assert {s for _, s in first.interactions} == {0, 1} and {s for _, s in second.interactions} == {2, 3}


@bounded
async def test_gateway_bot_recommends_shards_and_a_client_without_a_count_runs_them() -> None:
    async with DiscordFake(deadline_scale=0.1, recommended_shards=3) as fake:
        fake.add_guild("g", shard=(1, 3))
        bot = ShardedBot()
        async with running_client(fake, bot):
            assert bot.shard_count == 3 and sorted(bot.ready_shards) == [0, 1, 2]
            assert len(bot.guilds) == 1 and bot.guilds[0].shard_id == 1
        gateway = fake.requests_to("GET", "/gateway/bot")
        assert gateway and gateway[0].response["shards"] == 3


@contextlib.asynccontextmanager
async def raw_gateway(fake: DiscordFake) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
        hello = json.loads((await ws.receive(timeout=5)).data)
        assert hello["op"] == 10
        yield ws


@pytest.mark.parametrize("shard", [[3, 3], [-1, 2], [0, 0], ["0", 2], [0], [True, 2], 5])
@bounded
async def test_an_identify_with_an_invalid_shard_is_closed_with_4010(discord_fake: DiscordFake, shard: Any) -> None:
    fake = discord_fake
    async with raw_gateway(fake) as ws:
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 1, "properties": {}, "shard": shard}})
        message = await ws.receive(timeout=5)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 4010
    assert fake.gateway.identifies == 0 and fake.gateway.rejected_shards == [shard]


@bounded
async def test_an_identify_without_a_shard_is_shard_0_of_1(discord_fake: DiscordFake) -> None:
    fake = discord_fake
    fake.add_guild("g")
    async with raw_gateway(fake) as ws:
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 1, "properties": {}}})
        ready = json.loads((await ws.receive(timeout=5)).data)
        assert ready["t"] == "READY" and ready["d"]["shard"] == [0, 1] and len(ready["d"]["guilds"]) == 1
    assert fake.gateway.identified_shards == [(0, 1)]


def _at(*stamps: float) -> list[RecordedRequest]:
    return [RecordedRequest("GET", "/x", {}, None, {}, True, at=t) for t in stamps]


@pytest.mark.parametrize(("stamps", "most"), [
    ((), 0),
    ((0.0,), 1),
    ((0.0, 0.5, 0.99, 1.0, 1.5), 3),  # [0, 1) holds 3; [0.5, 1.5) holds 3; 1.0 is outside [0, 1)
    ((0.0, 2.0, 2.1, 2.2, 5.0), 3),
])
def test_max_requests_in_counts_the_busiest_second(stamps: tuple[float, ...], most: int) -> None:
    assert DiscordFake().max_requests_in(1.0, _at(*stamps)) == most


@bounded
async def test_every_request_is_time_stamped_whoever_sent_it(discord_fake: DiscordFake) -> None:
    fake = discord_fake
    before = asyncio.get_running_loop().time()
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as one, aiohttp.ClientSession() as two:
        await asyncio.gather(*(s.get(fake.api_base + "/users/@me", headers=headers) for s in (one, two) * 5))
    assert len(fake.requests) == 10 and all(r.at >= before for r in fake.requests)
    assert fake.max_requests_in(1.0) == 10 and fake.max_requests_in(1e-9) >= 1


@bounded
async def test_a_named_endpoint_tells_which_client_sent_a_request(discord_fake: DiscordFake) -> None:
    fake = discord_fake
    fake.add_guild("g", shard=(1, 2))
    first, second = await fake.endpoint("p1"), await fake.endpoint("p2")
    assert len({fake.port, first.port, second.port}) == 3
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session:
        for base in (fake.api_base, first.api_base, second.api_base, second.api_base):
            async with session.get(base + "/users/@me", headers=headers) as response:
                assert response.status == 200
    assert [r.client for r in fake.requests] == ["", "p1", "p2", "p2"]
    # The same fake behind each: a client on an endpoint's gateway gets its shard's guilds.
    async with aiohttp.ClientSession() as session, session.ws_connect(second.gateway_url + "?v=10") as ws:
        assert json.loads((await ws.receive(timeout=5)).data)["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 1, "properties": {}, "shard": [1, 2]}})
        ready = json.loads((await ws.receive(timeout=5)).data)
    assert ready["d"]["shard"] == [1, 2] and len(ready["d"]["guilds"]) == 1
