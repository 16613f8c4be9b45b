"""Drive the real discord.py client (commands.Bot + app_commands) against the loopback fake."""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.discord_fake import MANAGE_GUILD, DiscordFake, FakeChannel, FakeGuild, FakeUser
from tests.discord_fake.fixtures import minimal_intents, running_client
from tests.discord_fake.records import EPHEMERAL

TEST_TIMEOUT = 10.0


def bounded(fn: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Fail a test that runs longer than TEST_TIMEOUT (pytest-timeout is not installed)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> None:
        await asyncio.wait_for(fn(*args, **kwargs), timeout=TEST_TIMEOUT)

    return wrapper


# --- the bot under test (defined here, not the production bot) ------------------------------

PAPERS = ["attention is all you need", "diffusion models beat gans", "denoising diffusion", "adam optimizer"]


@dataclass
class Harness:
    bot: commands.Bot
    errors: list[Exception] = field(default_factory=list)
    clicked: asyncio.Event = field(default_factory=asyncio.Event)


class PagerView(discord.ui.View):
    def __init__(self, harness: Harness) -> None:
        super().__init__(timeout=30)
        self.harness = harness

    @discord.ui.button(label="Next page", custom_id="pager:next", style=discord.ButtonStyle.primary)
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[PagerView]) -> None:
        await interaction.response.edit_message(content="page 2", view=None)
        self.harness.clicked.set()


def make_bot(deadline_s: float = 0.3) -> Harness:
    bot = commands.Bot(
        command_prefix=commands.when_mentioned, intents=minimal_intents(), guild_ready_timeout=0.05, help_command=None
    )
    harness = Harness(bot)
    tree = bot.tree

    @tree.command(name="ping", description="Answer privately")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    @tree.command(name="digest", description="Post the digest publicly")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("today's digest", allowed_mentions=discord.AllowedMentions.none())

    @tree.command(name="slow", description="Defer, then follow up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done after thinking")
        await interaction.followup.send("a second follow-up", ephemeral=True)

    @tree.command(name="search", description="Find a paper by title")
    @app_commands.describe(query="Part of the title")
    async def search(interaction: discord.Interaction, query: str) -> None:
        await interaction.response.send_message(f"searching {query}")

    @search.autocomplete("query")
    async def search_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        hits = [p for p in PAPERS if current.lower() in p]
        return [app_commands.Choice(name=p.title(), value=p) for p in hits][:25]

    @tree.command(name="huge", description="Send an oversized embed")
    async def huge(interaction: discord.Interaction) -> None:
        embed = discord.Embed(title="t" * 300, description="d" * 4000)
        try:
            await interaction.response.send_message(embed=embed)
        except discord.HTTPException as exc:
            harness.errors.append(exc)
            await interaction.response.send_message("that was too big", ephemeral=True)

    @tree.command(name="pager", description="Show a button")
    async def pager(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("page 1", view=PagerView(harness))

    @tree.command(name="twice", description="Respond twice (the second must be refused)")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        interaction.response._response_type = None  # defeat discord.py's local guard to hit the server
        try:
            await interaction.response.send_message("second")
        except discord.HTTPException as exc:
            harness.errors.append(exc)

    @tree.command(name="late", description="Answer after the deadline")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(deadline_s + 0.15)
        try:
            await interaction.response.send_message("too late")
        except discord.HTTPException as exc:
            harness.errors.append(exc)

    @tree.command(name="settings", description="Admin only")
    @app_commands.default_permissions(manage_guild=True)
    async def settings(interaction: discord.Interaction) -> None:
        allowed = interaction.permissions.manage_guild
        await interaction.response.send_message("settings saved" if allowed else "not allowed", ephemeral=True)

    return harness


@dataclass
class World:
    fake: DiscordFake
    guild: FakeGuild
    channel: FakeChannel
    admin: FakeUser
    member: FakeUser


@pytest.fixture
def world(discord_fake: DiscordFake) -> World:
    fake = discord_fake
    guild = fake.add_guild("Paper Club")
    channel = fake.add_text_channel(guild, "papers")
    admin = fake.add_member(guild, "alice", permissions=MANAGE_GUILD)
    member = fake.add_member(guild, "bob")
    return World(fake, guild, channel, admin, member)


@pytest.fixture
async def harness(world: World) -> AsyncIterator[Harness]:
    h = make_bot(deadline_s=3.0 * world.fake.deadline_scale)
    async with running_client(world.fake, h.bot):
        yield h


# --- tests ----------------------------------------------------------------------------------


@bounded
async def test_login_ready_and_guild_visible(world: World, harness: Harness) -> None:
    fake, bot = world.fake, harness.bot
    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application_id
    g = bot.get_guild(world.guild.id)
    assert g is not None and g.name == "Paper Club"
    assert g.get_channel(world.channel.id) is not None
    assert g.member_count == len(world.guild.members)
    assert fake.gateway.identifies == 1
    assert [q.get("encoding") for q in fake.gateway.connect_queries] == ["json"]
    paths = [r.path for r in fake.requests]
    assert paths[:2] == ["/users/@me", "/oauth2/applications/@me"]
    assert not fake.unknown_requests
    assert all("authorization" not in {k.lower() for k in r.headers} for r in fake.requests)
    assert all(r.had_authorization for r in fake.requests)


@bounded
async def test_wrong_token_is_login_failure(discord_fake: DiscordFake) -> None:
    bot = make_bot().bot
    with pytest.raises(discord.LoginFailure):
        async with running_client(discord_fake, bot, token="not-the-token"):
            pass  # pragma: no cover
    assert discord_fake.requests[0].status == 401
    assert discord_fake.gateway.connects == 0


@bounded
async def test_sync_registers_validated_commands(world: World, harness: Harness) -> None:
    fake, tree = world.fake, harness.bot.tree
    synced = await tree.sync()
    names = sorted(c.name for c in synced)
    assert names == sorted(c["name"] for c in fake.registered_commands())
    assert "search" in names
    search = next(c for c in fake.registered_commands() if c["name"] == "search")
    assert search["options"][0]["name"] == "query" and search["options"][0]["autocomplete"] is True
    settings = next(c for c in fake.registered_commands() if c["name"] == "settings")
    assert settings["default_member_permissions"] == str(MANAGE_GUILD)
    # Re-syncing keeps ids stable; guild sync is separate.
    again = await tree.sync()
    assert {c.id for c in again} == {c.id for c in synced}
    assert await tree.sync(guild=discord.Object(world.guild.id)) == []


@bounded
async def test_sync_rejects_overlong_description(world: World, harness: Harness) -> None:
    tree = harness.bot.tree

    @tree.command(name="verbose", description="x" * 101)
    async def verbose(interaction: discord.Interaction) -> None:  # pragma: no cover
        pass

    with pytest.raises(app_commands.CommandSyncFailure) as info:
        await tree.sync()
    assert info.value.status == 400 and info.value.code == 50035
    assert "description" in str(info.value)
    assert world.fake.registered_commands() == []


@bounded
async def test_slash_command_ephemeral_reply(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("ping", guild=world.guild, channel=world.channel, user=world.member)
    response = await handle.response()
    assert response.ok and response.callback_type == 4
    assert response.data["content"] == "pong"
    assert handle.ephemeral and handle.original is not None and handle.original.ephemeral
    assert world.fake.messages_in(world.channel) == []  # interaction replies are kept apart


@bounded
async def test_slash_command_public_reply_with_allowed_mentions(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("digest", guild=world.guild, channel=world.channel, user=world.member)
    response = await handle.response()
    assert response.ok and not handle.ephemeral
    assert response.data["allowed_mentions"] == {"parse": []}
    assert handle.original is not None and handle.original.content == "today's digest"
    assert world.fake.messages_in(world.channel, include_interactions=True) == [handle.original]


@bounded
async def test_admin_check_uses_member_permissions(world: World, harness: Harness) -> None:
    admin = await world.fake.slash("settings", guild=world.guild, channel=world.channel, user=world.admin)
    plain = await world.fake.slash("settings", guild=world.guild, channel=world.channel, user=world.member)
    assert (await admin.response()).data["content"] == "settings saved"
    assert (await plain.response()).data["content"] == "not allowed"


@bounded
async def test_defer_then_followups(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("slow", guild=world.guild, channel=world.channel, user=world.member)
    first = await handle.response()
    assert first.ok and first.callback_type == 5
    original = await handle.original_response()  # the "thinking…" placeholder is replaced
    assert original.content == "done after thinking" and not original.loading
    second = await handle.followup(1)
    assert second.content == "a second follow-up" and second.ephemeral
    assert [a.kind for a in handle.attempts] == ["callback", "followup", "followup"]
    assert all(a.ok for a in handle.attempts)


@bounded
async def test_autocomplete_answered_with_choices(world: World, harness: Harness) -> None:
    await harness.bot.tree.sync()  # so the fake knows the option types (not required)
    handle = await world.fake.autocomplete(
        "search", {"query": "diffusion"}, focused="query", guild=world.guild, user=world.member
    )
    response = await handle.response()
    assert response.ok and response.callback_type == 8
    assert handle.choices == [
        {"name": "Diffusion Models Beat Gans", "value": "diffusion models beat gans"},
        {"name": "Denoising Diffusion", "value": "denoising diffusion"},
    ]


@bounded
async def test_slash_command_with_option(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("search", {"query": "adam"}, guild=world.guild, user=world.member)
    assert (await handle.response()).data["content"] == "searching adam"


@bounded
async def test_oversized_embed_surfaces_400_50035(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("huge", guild=world.guild, channel=world.channel, user=world.member)
    await handle.wait("callback", 2)
    rejected, accepted = handle.callbacks
    assert rejected.status == 400 and rejected.error_code == 50035
    assert "embeds" in rejected.response["errors"]["data"]
    assert accepted.ok and accepted.data["content"] == "that was too big"
    [exc] = harness.errors
    assert isinstance(exc, discord.HTTPException) and exc.status == 400 and exc.code == 50035
    assert "data.embeds.0.title" in str(exc)


@bounded
async def test_oversized_channel_message_rejected(world: World, harness: Harness) -> None:
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="x")
    for i in range(26):
        embed.add_field(name=f"f{i}", value="v")
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("x" * 2001, embed=embed)
    assert info.value.code == 50035
    assert "content" in str(info.value) and "embeds.0.fields" in str(info.value)
    assert world.fake.messages_in(world.channel) == []


@bounded
async def test_button_click_answered_with_update(world: World, harness: Harness) -> None:
    fake = world.fake
    handle = await fake.slash("pager", guild=world.guild, channel=world.channel, user=world.member)
    await handle.response()
    message = handle.original
    assert message is not None and message.custom_ids() == ["pager:next"]
    click = await fake.click(message, "pager:next", user=world.member)
    response = await click.response()
    assert response.ok and response.callback_type == 7
    await asyncio.wait_for(harness.clicked.wait(), 5)
    assert message.content == "page 2" and message.components == []
    assert message.edits and message.edits[-1]["content"] == "page 2"


@bounded
async def test_channel_message_records_allowed_mentions(world: World, harness: Harness) -> None:
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(
        f"<@{world.member.id}> new papers @everyone", allowed_mentions=discord.AllowedMentions.none()
    )
    [msg] = await world.fake.wait_for_messages(world.channel)
    assert sent.id == msg.id
    assert msg.allowed_mentions == {"parse": []}
    assert msg.mentions == [] and not msg.mention_everyone
    pinging = await channel.send(f"<@{world.member.id}> hi", allowed_mentions=discord.AllowedMentions(users=True))
    assert world.fake.messages[pinging.id].mentions == [world.member.id]


@bounded
async def test_thread_from_message(world: World, harness: Harness) -> None:
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    msg = await channel.send("digest for Sep 9")
    thread = await msg.create_thread(name="Discussion: Sep 9")
    assert thread.id == msg.id and thread.parent_id == world.channel.id
    await thread.send("first paper")
    assert [m.content for m in world.fake.messages_in(thread.id)] == ["first paper"]


@bounded
async def test_dm_to_user_with_closed_dms_is_forbidden(world: World, harness: Harness) -> None:
    fake = world.fake
    fake.set_dms_open(world.member, False)
    user = await harness.bot.fetch_user(world.member.id)
    with pytest.raises(discord.Forbidden) as info:
        await user.send("your topic matched 3 papers")
    assert info.value.code == 50007
    assert fake.dms_to(world.member) == []
    admin = await harness.bot.fetch_user(world.admin.id)
    await admin.send("your topic matched 1 paper")
    assert [m.content for m in fake.dms_to(world.admin)] == ["your topic matched 1 paper"]


@bounded
async def test_rate_limit_burst_is_retried_and_lands_once(world: World, harness: Harness) -> None:
    fake = world.fake
    fault = fake.inject_rate_limit("/channels/*/messages", count=2, method="POST", retry_after=0.05)
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("digest")
    posts = fake.requests_to("POST", f"/channels/{world.channel.id}/messages")
    assert [r.status for r in posts] == [429, 429, 200]
    assert fault.hits == 2
    assert [m.content for m in fake.messages_in(world.channel)] == ["digest"]


@bounded
async def test_server_error_is_retried(world: World, harness: Harness) -> None:
    fake = world.fake
    fake.inject_error("/channels/*/messages", status=502, count=1, method="POST")
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("after a 502")  # discord.py sleeps 1 s before retrying a 5xx
    assert [r.status for r in fake.requests_to("POST", "/channels/*/messages")] == [502, 200]
    assert len(fake.messages_in(world.channel)) == 1


@bounded
async def test_second_response_is_rejected(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("twice", guild=world.guild, channel=world.channel, user=world.member)
    first, second = await handle.wait("callback", 2)
    assert first.ok and second.status == 400 and second.error_code == 40060
    await world.fake.wait_until(lambda: harness.errors, what="the bot to see the error")
    [exc] = harness.errors
    assert isinstance(exc, discord.HTTPException) and exc.code == 40060


@bounded
async def test_response_after_deadline_is_rejected(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("late", guild=world.guild, channel=world.channel, user=world.member)
    response = await handle.response()
    assert response.status == 404 and response.error_code == 10062
    assert response.at > 3.0 * world.fake.deadline_scale
    assert not handle.acknowledged
    await world.fake.wait_until(lambda: harness.errors, what="the bot to see the error")
    [exc] = harness.errors
    assert isinstance(exc, discord.NotFound) and exc.code == 10062


@bounded
async def test_gateway_drop_then_resume(world: World, harness: Harness) -> None:
    fake, bot = world.fake, harness.bot
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)
    session = fake.gateway.current
    assert session is not None
    await fake.drop_gateway()
    # An interaction dispatched while the client is away is replayed on RESUME.
    handle = await fake.slash("ping", guild=world.guild, channel=world.channel, user=world.member)
    await asyncio.wait_for(resumed.wait(), 5)
    assert fake.gateway.resumes == 1 and fake.gateway.identifies == 1
    assert fake.gateway.current is session
    assert (await handle.response()).data["content"] == "pong"
    assert fake.gateway.connects == 2


@bounded
async def test_unknown_route_is_404_and_recorded(world: World, harness: Harness) -> None:
    with pytest.raises(discord.NotFound):
        await harness.bot.http.request(discord.http.Route("GET", "/nope/{x}", x=1))
    assert [r.path for r in world.fake.unknown_requests] == ["/nope/1"]


@bounded
async def test_zlib_stream_gateway(discord_fake: DiscordFake) -> None:
    async with DiscordFake(gateway_compression=True) as fake:
        guild = fake.add_guild("Compressed")
        fake.add_text_channel(guild)
        bot = make_bot().bot
        async with running_client(fake, bot):
            assert bot.get_guild(guild.id) is not None
            assert fake.gateway.connect_queries[0]["compress"] == "zlib-stream"
            handle = await fake.slash("ping", guild=guild)
            assert (await handle.response()).ok


@bounded
async def test_dm_slash_command(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("ping", user=world.member)  # no guild: a DM interaction
    response = await handle.response()
    assert response.ok and int(response.data["flags"]) & EPHEMERAL


@bounded
async def test_fake_json_content_type_is_exact(discord_fake: DiscordFake) -> None:
    with warnings.catch_warnings():
        async with aiohttp.ClientSession() as session, session.get(discord_fake.api_base + "/gateway") as resp:
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["url"].startswith("ws://127.0.0.1:")
