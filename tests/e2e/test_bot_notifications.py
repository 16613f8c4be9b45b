"""Daily posts and notifications sent by the production bot through the real discord.py client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.config import Settings
from storage import notifications as notification_repo
from storage import posts as post_repo
from testkit.discord_fake import MANAGE_GUILD, FakeChannel, FakeUser
from tests.e2e.bot_fixtures import settings_fixture, world_fixture  # noqa: F401 - fixtures
from tests.e2e.bot_harness import SAMPLE_ARRIVAL, World, bounded, load_sample, running_bot

BEFORE_NINE_BERLIN = SAMPLE_ARRIVAL.replace(hour=6, minute=59)  # 08:59 CEST
NINE_BERLIN = SAMPLE_ARRIVAL.replace(hour=7, minute=0)


async def set_up_daily_post(world: World, channel: FakeChannel | None = None, role: int | None = None) -> None:
    options = {"channel": (7, (channel or world.channel).id), "time": "09:00", "timezone": "Europe/Berlin",
               "thread": True}
    if role is not None:
        options["role"] = (8, role)
    handle = await world.fake.slash("setup channel", options, guild=world.guild, channel=world.channel,
                                    user=world.admin)
    assert "Daily post in" in (await handle.original_response()).content


async def command(world: World, name: str, options: dict[str, object] | None = None,
                  user: FakeUser | None = None) -> None:
    """A private command by `user` (the member by default) that must succeed."""
    handle = await world.fake.slash(name, options, guild=world.guild, channel=world.channel, user=user or world.member)
    answer = await handle.original_response()
    assert answer.ephemeral and not answer.content.startswith("Sorry"), answer.content


async def subscribe(world: World, topic: str, user: FakeUser | None = None) -> None:
    await command(world, "subscribe", {"topic": topic}, user)


@bounded
async def test_daily_post_lands_once_at_local_time_across_a_restart(world: World, settings: Settings) -> None:
    fake = world.fake
    role = fake.add_role(world.guild, "paper-readers", 0)
    async with running_bot(world, settings) as run:
        await set_up_daily_post(world, role=role.id)
        await load_sample(run)
        run.clock.set(BEFORE_NINE_BERLIN)
        await run.app.settle()
        assert fake.messages_in(world.channel) == []
        run.clock.set(NINE_BERLIN)
        report, _ = await run.app.settle()
        assert len(report.sent) == 1
    [post] = fake.messages_in(world.channel)
    assert post.content.startswith(f"<@&{role.id}>")
    assert post.allowed_mentions is not None and post.allowed_mentions["parse"] == []
    assert post.data["mention_roles"] == [str(role.id)] and not post.mention_everyone and post.mentions == []
    pages = fake.messages_in(post.id)  # the thread opened from the post has the post's id
    assert pages and all(p.allowed_mentions == {"parse": []} for p in pages)
    async with running_bot(world, settings) as run:
        run.clock.set(NINE_BERLIN + dt.timedelta(minutes=5))
        report, _ = await run.app.settle()
        assert report.sent == []
    assert len(fake.messages_in(world.channel)) == 1 and len(fake.messages_in(post.id)) == len(pages)


@bounded
async def test_subscription_then_load_sends_one_batched_dm(world: World, settings: Settings) -> None:
    async with running_bot(world, settings) as run:
        await subscribe(world, "diffusion")
        await subscribe(world, "reinforcement learning")
        await load_sample(run)
        _, deliveries = await run.app.settle()
        assert [d.status for d in deliveries] == ["sent"]
        _, again = await run.app.settle()
        assert again == []
    [dm] = world.fake.dms_to(world.member)
    text = dm.content + str(dm.embeds)
    assert "diffusion" in text.casefold() and dm.allowed_mentions == {"parse": []}


@bounded
async def test_closed_dms_fall_back_to_the_digest_thread_and_are_logged(world: World, settings: Settings) -> None:
    fake = world.fake
    carol = fake.add_member(world.guild, "carol")
    for user in (world.member, carol):
        fake.set_dms_open(user, False)
    async with running_bot(world, settings) as run:
        await set_up_daily_post(world)
        await subscribe(world, "diffusion")  # bob: no server known for him, so nowhere to fall back to
        await subscribe(world, "diffusion", carol)
        await command(world, "notifications channel", user=carol)  # remembers this server...
        await command(world, "notifications dm", user=carol)  # ...while preferring direct messages
        await load_sample(run)
        run.clock.set(NINE_BERLIN)
        _, deliveries = await run.app.settle()
        by_user = {d.user_id: d for d in deliveries}
        bob, carols = by_user[f"discord:{world.member.id}"], by_user[f"discord:{carol.id}"]
        assert (bob.status, bob.reason) == ("failed", "dm_closed")
        assert (carols.status, carols.kind) == ("sent", "channel")
        assert carols.reason is not None and carols.reason.startswith("dm_closed; fell back")
        logged = {d.user_id: (d.kind, d.status) for d in await notification_repo.list_notifications(run.app.db)}
        assert logged == {bob.user_id: ("direct", "failed"), carols.user_id: ("channel", "sent")}
    assert fake.dms_to(world.member) == fake.dms_to(carol) == []
    [post] = fake.messages_in(world.channel)
    mentions = [m for m in fake.messages_in(post.id) if f"<@{carol.id}>" in m.content]
    assert len(mentions) == 1 and mentions[0].allowed_mentions == {"parse": []}
    assert not any(f"<@{world.member.id}>" in m.content for m in fake.messages_in(post.id))


async def fan_out(world: World, settings: Settings, servers: list[World], inject: Callable[[], object]) -> None:
    """Daily posts to every server with faults injected; retries run until every post is sent."""
    settings.schedule.rate_per_second = 200.0  # the shared limiter has its own tests; keep this one quick
    async with running_bot(world, settings) as run:
        for server in servers:
            await set_up_daily_post(server)
        await load_sample(run)
        inject()
        run.clock.set(NINE_BERLIN)
        report, _ = await run.app.settle()
        for _ in range(3):  # whatever discord.py gave up on is retried later, with the same keys
            if not report.retrying:
                break
            run.clock.set(run.clock() + dt.timedelta(minutes=31))
            report, _ = await run.app.settle()
        posts = await post_repo.list_posts(run.app.db)
        assert sorted(p.status for p in posts) == ["sent"] * len(servers)
    for server in servers:
        [post] = world.fake.messages_in(server.channel)
        pages = world.fake.messages_in(post.id)
        assert len(pages) == len({p.content + str(p.embeds) for p in pages}) >= 1


@bounded
async def test_rate_limit_storm_during_a_fan_out_loses_and_doubles_nothing(world: World, settings: Settings) -> None:
    fake = world.fake
    servers = [world] + [_another_server(world, i) for i in range(2)]
    await fan_out(world, settings, servers, lambda: fake.inject_rate_limit(
        "/channels/*/messages", count=8, method="POST", retry_after=0.01))
    statuses = [r.status for r in fake.requests_to("POST", "/channels/*/messages")]
    assert statuses.count(429) == 8


@bounded
async def test_a_lost_response_is_not_posted_twice(world: World, settings: Settings) -> None:
    fake = world.fake
    await fan_out(world, settings, [world], lambda: fake.inject_error(
        "/channels/*/messages", status=500, count=1, method="POST", after_handling=True))
    first, retried = fake.requests_to("POST", "/channels/*/messages")[:2]
    assert (first.status, retried.status) == (500, 200) and first.json["nonce"] == retried.json["nonce"]
    assert first.json["enforce_nonce"] is True


def _another_server(world: World, i: int) -> World:
    fake = world.fake
    guild = fake.add_guild(f"Lab {i}")
    channel = fake.add_text_channel(guild, "papers")
    fake.add_member(guild, world.admin, permissions=MANAGE_GUILD)
    return World(fake, guild, channel, world.admin, world.member)

